"""What the machine was doing while a benchmark ran, printed with its figures.

The load average says whether other processes shared the cores. It does not show the cost of a
page fault, which on a virtual machine can change by an order of magnitude from one hour to the
next (seen here: the first touch of 128 MiB took 476 ms, a second pass over the same memory
21 ms). The numpy-heavy checks allocate and touch tens of MiB per file, so their CPU time moves
with it while a C library's loop in cache (libebur128) hardly does: read the ratios with it.
"""

from __future__ import annotations

import os
import time

import numpy as np

_PROBE_BYTES = 128 << 20


def first_touch_ms() -> float:
    """Milliseconds to write 128 MiB of freshly allocated memory (page faults included)."""
    a = np.empty(_PROBE_BYTES // 8)
    t = time.perf_counter()
    a.fill(1.0)
    return (time.perf_counter() - t) * 1e3


def conditions() -> str:
    """Load average, core count and the page-fault probe, as one line."""
    la = os.getloadavg()
    return (f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} on {os.cpu_count()} cpus; "
            f"first touch of 128 MiB {first_touch_ms():.0f} ms")
