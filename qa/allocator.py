"""Big temporary arrays served from memory the process already has, not from fresh kernel pages.

glibc's malloc hands every block above its mmap threshold (adjusted at run time, at most
32 MiB) to the kernel as a fresh mapping and unmaps it on free. A check's big temporaries
(the float64 blocks of the level sweep, the STFT chunks, the distinct count's grouping buffers:
9-73 MB each for a 95 s stereo song) then come back for every file as new pages that the
kernel must fault in and zero, and that start cold in the caches. With the mmap threshold and
the trim threshold at :data:`THRESHOLD_BYTES` they come from the heap, which keeps what a file
freed for the next one (mallopt(3): ``M_MMAP_THRESHOLD``, ``M_TRIM_THRESHOLD``).

Measured on the 95 s 48 kHz FLOAT song (``python -m benchmarks.check``, EPYC Zen 4): the check
took 0.384-0.408 s of CPU at best and 0.420-0.454 s at the median with glibc's defaults, and
0.342-0.373 s / 0.359-0.394 s with these settings; peak RSS 227 -> 234 MB (a block is reused
only once it is freed, so the high-water mark hardly moves).

``audio-qa check`` and the scan's worker processes call :func:`keep_freed_memory` when they
start, as both are processes of their own that check file after file; a program that calls the
library may call it too, for the whole process. Blocks of :data:`THRESHOLD_BYTES` and more (the
decode of a long file) are still mapped and unmapped. Free memory at the top of a heap is given
back beyond :data:`THRESHOLD_BYTES` (per heap: glibc gives threads heaps of their own); freed
blocks below live ones stay with the process, as they do under the defaults.
"""

from __future__ import annotations

import sys

#: Blocks from this size on are mapped apart, and free memory beyond it at the top of a heap is
#: given back (256 MiB: over three times the largest temporary of a 95 s song).
THRESHOLD_BYTES = 256 << 20
# mallopt(3) parameter numbers (glibc malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds to :data:`THRESHOLD_BYTES` for this process.

    Returns True when glibc took both settings, False where the C library is another (macOS,
    Windows, musl, whose ``mallopt`` does nothing) or a glibc that refuses an mmap threshold
    over 32 MiB (older releases; then neither is set): there the allocator is left as it is,
    which costs time, not results."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None)  # the symbols the process already has, libc among them
    except OSError:
        return False
    # glibc only: musl's mallopt is a stub that takes nothing
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):
        return False
    mallopt = libc.mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return (mallopt(_M_MMAP_THRESHOLD, THRESHOLD_BYTES) == 1
            and mallopt(_M_TRIM_THRESHOLD, THRESHOLD_BYTES) == 1)
