"""Waiting for a job: exponential backoff with jitter, Retry-After honoured, separate deadlines
for the queue wait and the processing, and a queue position that does not move detected."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from qa.probe.adapters.base import Adapter, JobState
from qa.probe.errors import ProbeError


@dataclass(frozen=True)
class Deadlines:
    """Seconds: the whole queue wait (admission retries included), the processing, a queue
    position that has not changed, the download."""

    queue_s: float = 600.0
    processing_s: float = 600.0
    stuck_after_s: float = 120.0
    download_s: float = 120.0


class Backoff:
    """Delays ``initial * factor**n`` capped at ``maximum`` (s), with equal jitter (half fixed,
    half uniform) so many probes do not poll in step."""

    def __init__(self, initial: float = 0.2, factor: float = 1.6, maximum: float = 5.0,
                 rng: random.Random | None = None):
        self.initial, self.factor, self.maximum = initial, factor, maximum
        self.rng = rng or random.Random()
        self.n = 0

    def reset(self) -> None:
        self.n = 0

    def next(self) -> float:
        d = min(self.maximum, self.initial * self.factor ** self.n)
        self.n += 1
        return d / 2 + self.rng.uniform(0, d / 2)


@dataclass
class Waited:
    """What the wait saw: the final state, when processing was first seen (monotonic s), the
    largest queue position, the 429s met while polling."""

    state: JobState
    accepted: float
    first_processing: float | None = None
    done_at: float = 0.0
    max_position: int | None = None
    http_429: int = 0
    positions: list[int] = field(default_factory=list)


def wait_for_job(adapter: Adapter, job_id: str, deadlines: Deadlines, backoff: Backoff,
                 clock=time.monotonic, sleep=time.sleep) -> Waited:
    """Poll until the job is done; raise ProbeError with the class of what went wrong."""
    w = Waited(JobState("queued"), clock())
    last_pos, moved_at, last_state = object(), w.accepted, None
    while True:
        try:
            st = adapter.poll(job_id)
        except ProbeError as e:
            if e.error_class != "rate_limited":
                raise
            w.http_429 += 1
            _check_deadlines(w, last_state, moved_at, clock(), deadlines, e)
            sleep(e.retry_after if e.retry_after is not None else backoff.next())
            continue
        now = clock()
        w.state = st
        if st.state != last_state:
            backoff.reset()
            last_state = st.state
        if st.state == "done":
            w.done_at = now
            return w
        if st.state == "failed":
            raise ProbeError("job_failed", f"job {job_id} failed: {st.error or 'no message from the service'}",
                             server_message=st.error)
        if st.state == "processing" and w.first_processing is None:
            w.first_processing = now
        if st.state == "queued" and isinstance(st.position, int):
            w.positions.append(st.position)
            w.max_position = max(w.max_position or 0, st.position)
        if st.state == "queued" and st.position != last_pos:
            last_pos, moved_at = st.position, now
        _check_deadlines(w, st.state, moved_at, now, deadlines)
        sleep(_bounded(backoff.next(), w, st.state, moved_at, now, deadlines))


def _check_deadlines(w: Waited, state: str | None, moved_at: float, now: float, d: Deadlines,
                     cause: ProbeError | None = None) -> None:
    tail = f" (last answer: {cause})" if cause else ""
    if state == "processing" and w.first_processing is not None and now - w.first_processing > d.processing_s:
        raise ProbeError("timeout_processing", f"still processing after {now - w.first_processing:.1f} s "
                         f"(--processing-timeout {d.processing_s:g} s){tail}")
    if state != "processing" and w.first_processing is None:
        if now - moved_at > d.stuck_after_s:
            pos = w.state.position
            raise ProbeError("stuck_queued", f"queue position {pos if pos is not None else '(not given)'} did not "
                             f"move for {now - moved_at:.1f} s (--stuck-after {d.stuck_after_s:g} s){tail}")
        if now - w.accepted > d.queue_s:
            raise ProbeError("timeout_queue", f"queued for {now - w.accepted:.1f} s "
                             f"(--queue-timeout {d.queue_s:g} s){tail}")


def _bounded(delay: float, w: Waited, state: str, moved_at: float, now: float, d: Deadlines) -> float:
    """``delay``, but not past the next deadline (plus a hair so the check then fires)."""
    if state == "processing" and w.first_processing is not None:
        left = w.first_processing + d.processing_s - now
    else:
        left = min(moved_at + d.stuck_after_s, w.accepted + d.queue_s) - now
    return max(0.0, min(delay, left + 0.01))
