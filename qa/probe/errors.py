"""The error vocabulary of service probes (CONTRACTS.md "Service probes") and the exception that
carries one class with the server's own words."""

from __future__ import annotations

from qa.errors import AudioQAError

#: Every primary error class a probe run can end with, in journey order.
ERROR_CLASSES = (
    "connect_error", "http_4xx_auth", "rate_limited", "queue_full", "bad_request", "http_5xx",
    "not_ready", "job_failed", "timeout_queue", "timeout_processing", "stuck_queued", "job_lost",
    "download_error", "decode_error", "audio_contract", "audio_silent", "audio_nan",
    "audio_clipped", "audio_noise", "audio_other",
)
#: What to look at first for each class (the hint of the failing ``service_job`` check).
HINTS = {
    "connect_error": "is the service up and the URL right? (nothing answered)",
    "http_4xx_auth": "pass the API key: --header 'X-API-Key: ...' or --bearer-env VAR",
    "rate_limited": "the service kept answering 429 past the queue deadline: raise its rate limit or probe less often",
    "queue_full": "the queue stayed full past the queue deadline: add workers or raise the queue bound",
    "bad_request": "the service refused the canary request: adjust it with --request FILE",
    "http_5xx": "the service failed on its side: read its log around the time of the run",
    "not_ready": "the health route says the service is not ready (see its body in the message)",
    "job_failed": "the job ended failed: the server's message is in the check",
    "timeout_queue": "the job waited longer than --queue-timeout: the queue moves too slowly",
    "timeout_processing": "processing ran past --processing-timeout: a hung worker or a timeout the server never enforces",
    "stuck_queued": "the queue position did not move for --stuck-after seconds: is the worker alive?",
    "job_lost": "the job was known and then 404: an in-memory job store lost it (a restart?)",
    "download_error": "the audio download failed or was cut short: check the storage behind the download URL",
    "decode_error": "the downloaded bytes are not audio: look at what the download route returns",
    "audio_contract": "sample rate, duration or channels differ from the request",
    "audio_silent": "the service returned silence with success: a swallowed exception in decoding?",
    "audio_nan": "the audio holds NaN/Inf: a float16 overflow or 0/0 in the pipeline",
    "audio_clipped": "the audio clips or wraps: gain before the int16 conversion",
    "audio_noise": "the audio is noise, not music: a broken vocoder or decoder checkpoint",
    "audio_other": "a file check failed: see the failing checks",
}


class ProbeError(AudioQAError):
    """A run ends with ``error_class``. ``server_message`` is the service's own text (a JSON
    ``detail``/``error``), ``http_status`` the status code, ``retry_after`` its Retry-After (s)."""

    def __init__(self, error_class: str, message: str, *, server_message: str | None = None,
                 http_status: int | None = None, retry_after: float | None = None):
        if error_class not in ERROR_CLASSES:
            raise ValueError(f"unknown error class {error_class!r}")
        super().__init__(message)
        self.error_class = error_class
        self.server_message = server_message
        self.http_status = http_status
        self.retry_after = retry_after
