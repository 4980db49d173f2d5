"""Stall watchdog: when a stage runs past its budget, capture every thread's stack.

A :class:`threading.Timer` fires at the deadline and reads ``sys._current_frames()`` (every
thread's current frame), so a save blocked in ``open()`` on a pipe, a GPU sync or a lock is
attributed to the stage that was running, with the line it is stuck on. The dump also goes to
stderr through :mod:`faulthandler` at once, so it survives even if the process is then killed.
Works while the stalled call holds no GIL (blocking I/O, sleeps, CUDA syncs and most C
extensions release it); a pure-Python busy loop still yields the GIL every 5 ms.
"""

from __future__ import annotations

import faulthandler
import sys
import threading
import time
import traceback
from typing import Any, Callable


class StallWatchdog:
    """Arm with a budget; if not disarmed in time, ``dump`` holds the stacks."""

    def __init__(self, stage: str, budget_s: float, *, to_stderr: bool = True,
                 on_stall: Callable[[dict[str, Any]], None] | None = None):
        self.stage = stage
        self.budget_s = float(budget_s)
        self.to_stderr = to_stderr
        self.on_stall = on_stall
        self.dump: dict[str, Any] | None = None
        self._t0 = time.perf_counter()
        self._timer = threading.Timer(self.budget_s, self._fire)
        self._timer.daemon = True
        self._timer.name = f"audio-qa-watchdog[{stage}]"

    def __enter__(self) -> "StallWatchdog":
        self._t0 = time.perf_counter()
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        if self.dump is not None:
            self.dump["elapsed_s"] = round(time.perf_counter() - self._t0, 6)

    def _fire(self) -> None:
        me = threading.get_ident()
        names = {t.ident: t.name for t in threading.enumerate()}
        threads = []
        for ident, frame in sys._current_frames().items():
            if ident == me:
                continue
            stack = [f"{f.filename}:{f.lineno} in {f.name}: {(f.line or '').strip()}"
                     for f in traceback.extract_stack(frame)]
            threads.append({"name": names.get(ident, str(ident)), "ident": ident, "stack": stack})
        self.dump = {
            "stage": self.stage,
            "budget_s": self.budget_s,
            "elapsed_s": round(time.perf_counter() - self._t0, 6),
            "threads": threads,
        }
        if self.to_stderr:
            try:
                sys.stderr.write(f"audio-qa: stage '{self.stage}' still running after "
                                 f"{self.budget_s:g} s; stacks of all threads:\n")
                sys.stderr.flush()
                faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
            except (OSError, ValueError) as e:  # stderr closed or not a real file
                self.dump["stderr_error"] = f"{type(e).__name__}: {e}"
        if self.on_stall is not None:
            self.on_stall(self.dump)
