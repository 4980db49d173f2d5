"""Stall watchdog: when a stage runs past its budget, capture every thread's stack.

One shared monitor thread wakes at the nearest deadline and reads ``sys._current_frames()`` (every
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


class _Monitor:
    """One daemon thread serving every armed watchdog: it sleeps until the nearest deadline.
    Arming and disarming a stage is a dict update under a lock, not a thread start (which on a
    loaded 2-core machine waits for the new thread to be scheduled, several ms per stage)."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._armed: dict[int, tuple[float, "StallWatchdog"]] = {}
        self._thread: threading.Thread | None = None

    def arm(self, wd: "StallWatchdog", deadline: float) -> None:
        with self._cv:
            self._armed[id(wd)] = (deadline, wd)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audio-qa-watchdog", daemon=True)
                self._thread.start()
            self._cv.notify()

    def disarm(self, wd: "StallWatchdog") -> None:
        with self._cv:
            self._armed.pop(id(wd), None)

    def _run(self) -> None:
        while True:
            with self._cv:
                now = time.perf_counter()
                due = [w for d, w in self._armed.values() if d <= now]
                for w in due:
                    del self._armed[id(w)]
                if not due:
                    nearest = min((d for d, _ in self._armed.values()), default=None)
                    self._cv.wait(None if nearest is None else nearest - now)
                    continue
            for w in due:  # outside the lock: a stage may finish (disarm) meanwhile
                w._fire()


_MONITOR = _Monitor()


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

    def __enter__(self) -> "StallWatchdog":
        self._t0 = time.perf_counter()
        _MONITOR.arm(self, self._t0 + self.budget_s)
        return self

    def __exit__(self, *exc) -> None:
        _MONITOR.disarm(self)
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
