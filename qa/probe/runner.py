"""One probe run (submit -> wait -> download -> verify, each phase timed) and many of them with
bounded concurrency."""

from __future__ import annotations

import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from qa.probe.adapters.base import Adapter
from qa.probe.errors import ProbeError
from qa.probe.poll import Backoff, Deadlines, wait_for_job
from qa.probe.request import CanaryRequest
from qa.probe.verify import audio_error_class, verify_bytes
from qa.results import ItemResult

PHASES = ("submit_s", "queue_s", "processing_s", "download_s", "verify_s", "total_s")


@dataclass
class RunRecord:
    """One run: its primary error class (None = success), the message and the server's own
    words, the phase timings (s; None for a phase not reached), where each came from ("server"
    timestamps or the probe's "client" clock), the checked file, and what it met on the way."""

    index: int
    error_class: str | None = None
    message: str = ""
    server_message: str | None = None
    phases: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(PHASES))
    phase_source: dict[str, str] = field(default_factory=dict)
    file_item: ItemResult | None = None
    http_429: int = 0
    refusals: int = 0
    max_position: int | None = None
    download: dict[str, Any] = field(default_factory=dict)

    def fail(self, e: ProbeError) -> "RunRecord":
        self.error_class, self.message, self.server_message = e.error_class, str(e), e.server_message
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "error_class": self.error_class, "message": self.message,
                "server_message": self.server_message, "phases": self.phases,
                "phase_source": self.phase_source, "http_429": self.http_429, "refusals": self.refusals,
                "max_queue_position": self.max_position, "download": self.download}


def submit_with_retry(adapter: Adapter, req: CanaryRequest, rec: RunRecord, deadlines: Deadlines,
                      backoff: Backoff, clock=time.monotonic, sleep=time.sleep) -> str:
    """Submit; a 429 or a full queue is retried after its Retry-After (or the backoff) until the
    queue deadline, and then is the run's error."""
    t0 = clock()
    while True:
        try:
            return adapter.submit(req)
        except ProbeError as e:
            if e.error_class not in ("rate_limited", "queue_full"):
                raise
            rec.refusals += 1
            rec.http_429 += e.http_status == 429
            wait = e.retry_after if e.retry_after is not None else backoff.next()
            if clock() - t0 + wait > deadlines.queue_s:
                raise ProbeError(e.error_class, f"{e} ({rec.refusals} refusals in {clock() - t0:.1f} s; "
                                 f"--queue-timeout {deadlines.queue_s:g} s)", server_message=e.server_message,
                                 http_status=e.http_status) from None
            sleep(wait)


def run_once(adapter: Adapter, req: CanaryRequest, deadlines: Deadlines, profile, index: int,
             rng: random.Random) -> RunRecord:
    rec = RunRecord(index)
    t0 = time.monotonic()
    try:
        job = submit_with_retry(adapter, req, rec, deadlines, Backoff(rng=rng))
        t_acc = time.monotonic()
        rec.phases["submit_s"] = t_acc - t0
        w = wait_for_job(adapter, job, deadlines, Backoff(rng=rng))
        rec.http_429 += w.http_429
        rec.max_position = w.max_position
        _wait_phases(rec, w)
        t1 = time.monotonic()
        data, mime, info = adapter.fetch(job, w.state, deadlines.download_s)
        rec.download = {"bytes": len(data), "media_type": mime, **info}
        t2 = time.monotonic()
        rec.phases["download_s"] = t2 - t1
        ref = str(w.state.audio or job)
        name = f"data URI ({len(data)} bytes)" if ref.startswith("data:") else ref
        rec.file_item = verify_bytes(data, mime, name, req, profile)
        rec.phases["verify_s"] = time.monotonic() - t2
        cls = audio_error_class(rec.file_item)
        if cls:
            bad = [f"{c.id}: {c.message}" for c in rec.file_item.checks if c.status in ("fail", "error")]
            rec.error_class, rec.message = cls, "; ".join(bad)
    except ProbeError as e:
        rec.fail(e)
    rec.phases["total_s"] = time.monotonic() - t0
    return rec


def _wait_phases(rec: RunRecord, w) -> None:
    """Queue and processing time: the server's timestamps when it gives both ends, else the
    probe's clock (from acceptance to processing first seen, to done seen)."""
    st = w.state
    if st.created_at is not None and st.started_at is not None and st.finished_at is not None:
        rec.phases["queue_s"] = max(0.0, st.started_at - st.created_at)
        rec.phases["processing_s"] = max(0.0, st.finished_at - st.started_at)
        rec.phase_source.update(queue_s="server", processing_s="server")
        return
    start = w.first_processing if w.first_processing is not None else w.done_at
    rec.phases["queue_s"] = start - w.accepted
    rec.phases["processing_s"] = w.done_at - start
    rec.phase_source.update(queue_s="client", processing_s="client")


def run_many(one: Callable[[int, random.Random], RunRecord], runs: int, concurrency: int,
             seed: int | None = None) -> list[RunRecord]:
    """``runs`` runs, at most ``concurrency`` at once, in index order; progress on stderr."""
    master = random.Random(seed)
    rngs = [random.Random(master.random()) for _ in range(runs)]
    done = [0]

    def task(i: int) -> RunRecord:
        rec = one(i, rngs[i])
        done[0] += 1
        if runs > 1:
            print(f"[{done[0]}/{runs}] run {i}: {rec.error_class or 'ok'} ({rec.phases['total_s']:.2f} s)",
                  file=sys.stderr, flush=True)
        return rec

    if concurrency <= 1:
        return [task(i) for i in range(runs)]
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="probe") as pool:
        return list(pool.map(task, range(runs)))
