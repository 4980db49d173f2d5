"""The scan's progress line on stderr: files done, files/s, audio hours checked, ETA, failures."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    """Thread-safe counters, printed at most every ``interval_s`` and once at the end.

    Files from shards finished by an earlier run count as done but not into the rate."""

    def __init__(self, total: int, *, stream: TextIO | None = None, interval_s: float = 1.0) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.interval_s = interval_s
        self.done = self.failures = self.resumed = 0
        self.audio_s = 0.0
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._last = 0.0

    def add(self, files: int, failures: int, audio_s: float, *, resumed: bool = False) -> None:
        with self._lock:
            self.done += files
            self.failures += failures
            self.audio_s += audio_s
            if resumed:
                self.resumed += files
                return
            now = time.monotonic()
            if now - self._last >= self.interval_s or self.done >= self.total:
                self._last = now
                print(self.line(now), file=self.stream, flush=True)

    def show(self) -> None:
        with self._lock:
            print(self.line(), file=self.stream, flush=True)

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self._t0, 1e-9)
        fresh = self.done - self.resumed
        rate = fresh / elapsed
        left = self.total - self.done
        eta = _hms(left / rate) if rate > 0 and left else ("0:00:00" if not left else "?")
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return (f"scan: {self.done}/{self.total} files ({pct:.1f} %), {rate:.1f} files/s, "
                f"{self.audio_s / 3600:.2f} h audio, ETA {eta}, {self.failures} failed")


def _hms(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
