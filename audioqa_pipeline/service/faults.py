"""Service faults: what users report about deployed song generators, each with the error class
``audio-qa probe`` must report for it (CONTRACTS.md "Service probes")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceFault:
    """``where`` is the part of the service that fails: "health" and "submit" faults answer
    before any job reaches the worker (their server need not load the pipeline to show them)."""

    name: str
    error_class: str
    description: str
    where: str = "worker"


SERVICE_FAULTS: dict[str, ServiceFault] = {f.name: f for f in [
    ServiceFault("degraded_health", "not_ready",
                 "the health route answers HTTP 200 with status \"degraded\" and models_loaded false", "health"),
    ServiceFault("auth_required", "http_4xx_auth",
                 "every route but health wants an API key the probe was not given (401)", "submit"),
    ServiceFault("rate_limited", "rate_limited",
                 "every submit is refused with 429 and Retry-After: 1", "submit"),
    ServiceFault("queue_full", "queue_full",
                 "every submit is refused with 503 \"queue is full\" and Retry-After: 1", "submit"),
    ServiceFault("reject_duration", "bad_request",
                 "submit answers 422: only full-length songs (95 s or 285 s) are accepted", "submit"),
    ServiceFault("submit_500", "http_5xx", "submit answers 500: the model worker crashed", "submit"),
    ServiceFault("healthy_but_failing", "job_failed",
                 "health says healthy while every job fails in generation (CUDA error)"),
    ServiceFault("queue_stalled", "stuck_queued",
                 "the worker thread stopped: jobs stay queued at position 1 forever"),
    ServiceFault("hang_processing", "timeout_processing",
                 "a job hangs in processing: the server defines a generation timeout no code reads"),
    ServiceFault("job_lost", "job_lost",
                 "the server restarts while the job runs: the in-memory job store forgets it (404)"),
    ServiceFault("truncated_download", "download_error",
                 "the download declares the full Content-Length and stops after 60 % of the bytes", "download"),
    ServiceFault("slow_download", "download_error",
                 "the download trickles 16 KiB every 0.5 s (an overloaded object store)", "download"),
    ServiceFault("corrupt_audio", "decode_error",
                 "the download answers 200 audio/wav with an HTML error page as the body", "download"),
    ServiceFault("wrong_sample_rate", "audio_contract",
                 "the WAV header says 48000 Hz for 44100 Hz audio (the writer is given the wrong rate)"),
    ServiceFault("silent_audio", "audio_silent",
                 "full-length digital silence with 200 OK (the decoder's exception is swallowed)"),
    ServiceFault("nan_audio", "audio_nan", "a float WAV with NaN samples (a float16 overflow in the decoder)"),
    ServiceFault("clipped_audio", "audio_clipped", "+18 dB of gain before the int16 clamp: hard clipping"),
    ServiceFault("noise_audio", "audio_noise", "white noise instead of music (a broken vocoder checkpoint)"),
]}


def get_service_fault(name: str | None) -> ServiceFault | None:
    if name is None:
        return None
    try:
        return SERVICE_FAULTS[name]
    except KeyError:
        raise ValueError(f"unknown service fault {name!r}; known: {', '.join(SERVICE_FAULTS)}") from None
