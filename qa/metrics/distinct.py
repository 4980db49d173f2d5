"""The exact count of distinct sample values (the ``distinct_values`` metric).

A square wave from an int16 tensor handed to a float API has 2-3 values, a few-bit staircase
has 8-16; music has millions. The count is exact whatever it is, by the cheapest of four routes:

- data on the int16 grid: a 65536-bin histogram;
- few distinct values (seen on a strided probe): every sample is matched against the known
  values and the rest collected;
- otherwise the values are grouped so equal ones sit side by side, and the boundaries counted:
  by ``np.sort``, or, where numpy's sort is slow (below), by a radix sort of the bit patterns.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

#: Up to this many distinct values the matching route is taken (few-bit and tone signals).
FEW = 4096
_DIGIT_BITS = 16


def distinct_values(x: np.ndarray, *, all_finite: bool | None = None) -> int:
    """Exact count of distinct finite sample values over all channels (+0.0 and -0.0 are one
    value). Pure: never writes ``x``. ``all_finite``: whether every sample is finite, when the
    caller knows (else a pass finds out)."""
    flat = x.reshape(-1)
    if all_finite is None:
        all_finite = bool(np.isfinite(flat.sum(dtype=np.float64)))
    flat = flat if all_finite else flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0
    sample = flat[:: max(1, flat.size // 65536)]
    # the strided probe decides cheaply when the data cannot be on the int16 grid
    if _on_int16_grid(sample) and _on_int16_grid(flat):
        ic = np.clip(flat * 32768.0, -32768, 32767).astype(np.int32) + 32768
        return int(np.count_nonzero(np.bincount(ic, minlength=65537)))
    probe = np.unique(sample)
    if probe.size < FEW:
        n = _count_few(flat, probe)
        if n is not None:
            return n
    if flat.dtype.itemsize in (4, 8) and numpy_sort_is_microcoded():
        return radix_distinct(flat)
    ordered = np.sort(flat)
    return int(np.count_nonzero(ordered[1:] != ordered[:-1]) + 1)


def _count_few(flat: np.ndarray, known: np.ndarray) -> int | None:
    """The count when it stays under :data:`FEW`, else None: samples not among the known
    values are collected, and their values added, until none is left."""
    rest = flat
    while True:
        pos = np.clip(np.searchsorted(known, rest), 0, known.size - 1)
        rest = rest[known[pos] != rest]
        if rest.size == 0:
            return int(known.size)
        known = np.union1d(known, np.unique(rest[: 1 << 16]))
        if known.size >= FEW:
            return None


def radix_distinct(flat: np.ndarray) -> int:
    """Exact distinct count of a 1-D array of finite 32- or 64-bit floats in O(n): a
    least-significant-digit radix sort of the bit patterns (:func:`digit_passes`), then the
    equal neighbours counted.

    Each pass is a stable counting sort: scipy's compiled COO-to-CSR conversion groups entries
    by row index keeping their order, and "duplicate entries are carried over" (its documented
    behaviour), so with the digit as the row and the bit pattern as the value it is one
    counting-sort pass. Any order of the passes leaves equal patterns adjacent. Two buffers of
    the array's size are allocated; ``flat`` is only read.
    """
    from scipy.sparse import _sparsetools

    width = flat.dtype.itemsize
    bits = np.ascontiguousarray(flat).view(np.dtype(f"u{width}"))
    n = bits.size
    index = np.dtype(np.int32 if n < np.iinfo(np.int32).max else np.int64)
    indptr = np.empty((1 << _DIGIT_BITS) + 1, dtype=index)
    digit = np.empty(n, dtype=index)
    # The patterns ride in the column indices when they have the index's width (fewer bytes
    # moved a pass), else in the values beside a column of zeros.
    in_columns = width == index.itemsize
    carrier = index if in_columns else bits.dtype
    rider = np.zeros(n, dtype=np.int8 if in_columns else index)
    rider_out = np.empty_like(rider)
    buffers = (np.empty(n, dtype=carrier), np.empty(n, dtype=carrier))
    src = bits.view(carrier)
    for k, (shift, size) in enumerate(digit_passes(8 * width)):
        _digit(src.view(bits.dtype), shift, size, digit)
        dst = buffers[k % 2]
        rows = 1 << size
        if in_columns:
            _sparsetools.coo_tocsr(rows, 1, n, digit, src, rider, indptr, dst, rider_out)
        else:
            _sparsetools.coo_tocsr(rows, 1, n, digit, rider, src, indptr, rider_out, dst)
        src = dst
    src = src.view(bits.dtype)
    count = n - int(np.count_nonzero(src[1:] == src[:-1]))
    # +0.0 and -0.0 are one value with two bit patterns. Both have a zero last digit, so they
    # sit in the first row of the last pass (indptr[1] entries), +0.0 first of all.
    head = src[: int(indptr[1])]
    if head.size and head[0] == 0 and np.any(head == 1 << (8 * width - 1)):
        count -= 1
    return count


def digit_passes(bits: int) -> list[tuple[int, int]]:
    """(shift, digit bits) of each counting-sort pass over ``bits``-bit patterns, in order:
    16-bit digits from the top, whose 65536 rows stay in cache because consecutive audio
    samples share their high bits, and the lowest 16 bits, which are random from sample to
    sample, as two 8-bit passes (256 rows; measured on the 95 s song: 24 + 36 ms against 77)."""
    top = [(shift, _DIGIT_BITS) for shift in range(bits - _DIGIT_BITS, _DIGIT_BITS - 1, -_DIGIT_BITS)]
    return top + [(8, 8), (0, 8)]


def _digit(bits: np.ndarray, shift: int, size: int, out: np.ndarray) -> None:
    """``out = (bits >> shift) & (2**size - 1)`` in the index dtype (the cast to ``out`` keeps
    the low bits, so the mask may follow it); one pass when no mask or no shift is needed."""
    mask = (1 << size) - 1
    if shift == 0:
        np.bitwise_and(bits, mask, out=out, casting="unsafe")
        return
    np.right_shift(bits, shift, out=out, casting="unsafe")
    if shift + size < 8 * bits.dtype.itemsize:
        np.bitwise_and(out, mask, out=out)


@functools.cache
def numpy_sort_is_microcoded() -> bool:
    """True on an AMD Zen 4 core (family 19h with AVX-512), where ``np.sort`` of 32- and 64-bit
    values is several times slower than a radix sort.

    numpy's AVX-512 quicksort (x86-simd-sort) partitions with ``vpcompress`` stores to memory,
    which Zen 4 runs in microcode (AMD Software Optimization Guide for Zen 4, 2.11.2: "avoid the
    memory destination form of COMPRESS instructions"; numpy/x86-simd-sort#6). Measured on an
    EPYC Zen 4: 9.1 M float32 values sort in 380-420 ms (74 ms on the AVX2 path with AVX-512
    disabled); the radix route counts them in ~125 ms. Zen 3 has no AVX-512 and Zen 5 (family
    1Ah) fixed the store, so both keep ``np.sort``; so does any machine without /proc/cpuinfo.
    """
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return cpuinfo_is_zen4(text)


def cpuinfo_is_zen4(text: str) -> bool:
    """Whether the first processor of a /proc/cpuinfo text is an AMD family 19h core with
    AVX-512 (Zen 4)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return (fields.get("vendor_id") == "AuthenticAMD" and fields.get("cpu family") == "25"
            and "avx512f" in fields.get("flags", "").split())


def _on_int16_grid(v: np.ndarray) -> bool:
    """Every value of ``v`` is a multiple of 2**-15 within [-1, 1]."""
    if not np.abs(v).max() <= 1.0:  # first: scaling values near the float32 limit overflows
        return False
    codes = v * 32768.0
    return bool(np.array_equal(codes, np.round(codes)))
