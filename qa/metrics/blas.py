"""One BLAS thread for the many small matrix products of the metrics (true-peak interpolation,
the dot products of the stereo and lag sums, the band mix): BLAS threads only
add hand-over cost there, and their spinning counts as CPU time of the process (3-10x slower
when other processes share the cores, measured in benchmarks/loudness.py; the band frames of
the song group took 79 ms of CPU with two threads, 48 ms with one). Every metric group of
:class:`qa.measure.Measurements` runs under it: a scan runs one process per core anyway."""

from __future__ import annotations

_CONTROLLER = None


def one_blas_thread():
    """Context manager limiting BLAS to one thread for its body (threadpoolctl)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")
