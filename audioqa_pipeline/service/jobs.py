"""The job store and the one worker thread of the reference service.

As in DiffRhythm's FastAPI backends: jobs live in a dict in memory (a restart forgets them), one
worker thread takes them in order from a bounded queue and runs the reference pipeline
(:func:`audioqa_pipeline.run.run_pipeline`), and a full queue refuses new jobs with 429 and
``Retry-After``. Service faults (:mod:`audioqa_pipeline.service.faults`) are hooks at the points
where the real failures happen: the worker, the store, the output file.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from audioqa_pipeline.service.faults import ServiceFault, get_service_fault

#: The reference service's limits on a request (seconds): short songs keep a CPU worker quick.
MIN_DURATION_S, MAX_DURATION_S = 1.0, 30.0
#: What a 429 or 503 asks the client to wait (seconds, the Retry-After header).
RETRY_AFTER_S = 1
STATES = ("queued", "processing", "completed", "failed")


class QueueFullError(Exception):
    """The bounded queue holds ``max_queue`` jobs already."""


class RequestError(ValueError):
    """A request the service refuses (422), with the reason."""


@dataclass
class Job:
    id: str
    request: dict[str, Any]
    status: str = "queued"
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    path: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class GenerationRequest:
    """A validated request: LRC lyrics, a style prompt, the duration (s), a seed."""

    lyrics: str
    style: str
    duration_s: float
    seed: int = 0

    @classmethod
    def from_fields(cls, lyrics: Any, style: Any, duration: Any, seed: Any) -> "GenerationRequest":
        from audioqa_pipeline.lyrics import LyricsError, parse_lrc

        try:
            d = float(duration)
        except (TypeError, ValueError):
            raise RequestError(f"duration must be a number of seconds, got {duration!r}") from None
        if not (math.isfinite(d) and MIN_DURATION_S <= d <= MAX_DURATION_S):
            raise RequestError(f"duration {duration!r} s is outside {MIN_DURATION_S:g}..{MAX_DURATION_S:g} s")
        if not isinstance(style, str) or not style.strip():
            raise RequestError("style prompt is empty; describe the genre, e.g. 'upbeat pop'")
        lyrics = lyrics or ""
        if not isinstance(lyrics, str):
            raise RequestError(f"lyrics must be LRC text, got {type(lyrics).__name__}")
        try:
            parse_lrc(lyrics, "request", strict=True)
        except LyricsError as e:
            raise RequestError(str(e)) from None
        try:
            s = int(seed)
        except (TypeError, ValueError):
            raise RequestError(f"seed must be an integer, got {seed!r}") from None
        return cls(lyrics, style, d, s)


class Service:
    """The job store, the bounded queue and the worker thread (start with :meth:`start`)."""

    def __init__(self, out_dir: str, *, fault: str | None = None, max_queue: int = 4, steps: int = 4):
        self.out_dir = out_dir
        self.fault: ServiceFault | None = get_service_fault(fault)
        self.max_queue = max_queue
        self.steps = steps
        self.jobs: dict[str, Job] = {}
        self.queue: collections.deque[str] = collections.deque()
        self.idempotency: dict[str, str] = {}
        self.counts = collections.Counter()  # submitted, refused, completed, failed
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self._cv = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="generation-worker", daemon=True)

    @property
    def fault_name(self) -> str | None:
        return self.fault.name if self.fault else None

    def start(self) -> None:
        os.makedirs(self.out_dir, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        with self._cv:
            self._cv.notify_all()
        self._thread.join(timeout=10)

    # -- the store -----------------------------------------------------------------------------
    def submit(self, req: GenerationRequest, idempotency_key: str | None = None) -> Job:
        with self._cv:
            if idempotency_key and idempotency_key in self.idempotency:
                job = self.jobs.get(self.idempotency[idempotency_key])
                if job is not None:
                    return job
            if len(self.queue) >= self.max_queue:
                self.counts["refused"] += 1
                raise QueueFullError(f"queue is full ({len(self.queue)} of {self.max_queue} jobs waiting)")
            job = Job(uuid.uuid4().hex, dataclasses.asdict(req))
            self.jobs[job.id] = job
            if idempotency_key:
                self.idempotency[idempotency_key] = job.id
            self.queue.append(job.id)
            self.counts["submitted"] += 1
            self._cv.notify_all()
            return job

    def get(self, job_id: str) -> Job | None:
        with self._cv:
            return self.jobs.get(job_id)

    def position(self, job_id: str) -> int | None:
        """1-based place in the queue (1 = next), None when not queued."""
        with self._cv:
            try:
                return self.queue.index(job_id) + 1
            except ValueError:
                return None

    def active(self) -> int:
        with self._cv:
            return sum(j.status == "processing" for j in self.jobs.values())

    def stats(self) -> dict[str, Any]:
        with self._cv:
            by = collections.Counter(j.status for j in self.jobs.values())
            done = [j for j in self.jobs.values() if j.finished_at and j.started_at]
            avg = sum(j.finished_at - j.started_at for j in done) / len(done) if done else None
            return {"queued": len(self.queue), "processing": by["processing"], "completed": by["completed"],
                    "failed": by["failed"], "max_queue": self.max_queue, "refused": self.counts["refused"],
                    "submitted": self.counts["submitted"], "avg_job_seconds": avg}

    # -- the worker ----------------------------------------------------------------------------
    def _work(self) -> None:
        self._warm_up()
        while not self.stopping.is_set():
            with self._cv:
                while not self.queue and not self.stopping.is_set():
                    self._cv.wait(0.5)
                if self.stopping.is_set():
                    return
                if self.fault_name == "queue_stalled":  # the worker is wedged: nothing moves
                    self._cv.wait(0.5)
                    continue
                job = self.jobs[self.queue.popleft()]
                job.status, job.started_at = "processing", time.time()
            self._run(job)

    def _warm_up(self) -> None:
        """Import torch and the models once, so health says ready only when it is (not needed
        when the fault answers before any job runs)."""
        if self.fault is not None and self.fault.where in ("health", "submit"):
            self.ready.set()
            return
        try:
            import torch  # noqa: F401

            from audioqa_pipeline import model  # noqa: F401
        finally:
            self.ready.set()

    def _run(self, job: Job) -> None:
        try:
            path = self._generate(job)
        except Exception as e:  # the job fails with the server's message; the worker goes on
            self._finish(job, None, f"{type(e).__name__}: {e}")
            return
        self._finish(job, path, None)

    def _finish(self, job: Job, path: str | None, error: str | None) -> None:
        with self._cv:
            if job.id not in self.jobs:
                return  # lost (job_lost): nobody will ever see it
            job.path, job.error, job.finished_at = path, error, time.time()
            job.status = "failed" if error else "completed"
            self.counts[job.status] += 1

    def _generate(self, job: Job) -> str:
        hook = _BEFORE.get(self.fault_name)
        if hook is not None:
            hook(self, job)
        path = run_generation(GenerationRequest(**job.request), os.path.join(self.out_dir, job.id),
                              steps=self.steps, pipeline_fault=_PIPELINE_FAULTS.get(self.fault_name))
        after = _AFTER.get(self.fault_name)
        if after is not None:
            after(path, job.request["seed"])
        return path


def run_generation(req: GenerationRequest, out_dir: str, *, steps: int, pipeline_fault: str | None = None) -> str:
    """One song through the reference pipeline; returns the WAV's path."""
    from audioqa_pipeline.run import RunOptions, run_pipeline
    from audioqa_pipeline.scenario import Scenario
    from qa.probes import Probe

    scenario = Scenario("song", req.style, req.duration_s, req.lyrics, None)
    out = run_pipeline(scenario, out_dir, Probe(), RunOptions(steps=steps, seed=req.seed, fault=pipeline_fault))
    if not out.written:
        raise RuntimeError(f"the save stage wrote no file ({'; '.join(out.notes) or 'see the server log'})")
    return out.path


# -- fault hooks ---------------------------------------------------------------------------------
def _hang(service: Service, job: Job) -> None:
    service.stopping.wait()  # until shutdown: the server's generation timeout is never read
    raise RuntimeError("server shut down while the job hung")


def _fail(service: Service, job: Job) -> None:
    raise RuntimeError("CUDA error: an illegal memory access was encountered")


def _lose(service: Service, job: Job) -> None:
    with service._cv:  # a restart: the in-memory store is empty afterwards
        service.jobs.clear()
        service.idempotency.clear()


def _rewrite(path: str, fn: Callable[[Any, Any], Any], subtype: str) -> None:
    import soundfile as sf

    x, sr = sf.read(path, dtype="float64", always_2d=True)
    sf.write(path, fn(x, np.random.default_rng(0)), sr, subtype=subtype)


def _noise(path: str, seed: int) -> None:
    _rewrite(path, lambda x, rng: np.clip(rng.normal(0, 0.2, x.shape), -1, 1), "PCM_16")


def _nan(path: str, seed: int) -> None:
    def f(x, rng):
        y = x.copy()
        y[len(y) // 3: len(y) // 3 + 4410] = float("nan")
        return y.astype("float32")
    _rewrite(path, f, "FLOAT")


def _clip(path: str, seed: int) -> None:
    _rewrite(path, lambda x, rng: np.clip(x * 8.0, -1.0, 1.0), "PCM_16")


_BEFORE = {"hang_processing": _hang, "healthy_but_failing": _fail, "job_lost": _lose}
_AFTER = {"noise_audio": _noise, "nan_audio": _nan, "clipped_audio": _clip}
_PIPELINE_FAULTS = {"silent_audio": "zero_decoder", "wrong_sample_rate": "wrong_sample_rate"}
