"""Which process holds a file open: the benchmarks and the scan tests stop or kill the worker
that is reading a given file, as a stalled or crashing decoder would (Linux /proc only)."""

from __future__ import annotations

import os
import threading
import time


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc/PID/task/TID/children)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def holder(root: int, name: str, *, timeout: float, stop: threading.Event | None = None) -> int | None:
    """The pid of the first descendant of ``root`` seen with a file whose path ends in ``name``
    open, polling every 2 ms; None after ``timeout`` seconds or once ``stop`` is set."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        for pid in descendants(root):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}").endswith(name):
                        return pid
                except OSError:
                    continue
        time.sleep(0.002)
    return None
