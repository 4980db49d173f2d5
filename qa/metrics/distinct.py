"""The exact count of distinct sample values (the ``distinct_values`` metric).

A square wave from an int16 tensor handed to a float API has 2-3 values, a few-bit staircase
has 8-16; music has millions. The count is exact whatever it is, by the cheapest of four routes:

- data on the int16 grid: a 65536-bin histogram;
- few distinct values (seen on a strided probe): every sample is matched against the known
  values and the rest collected;
- otherwise the values are sorted so equal ones sit side by side, and the boundaries counted,
  by ``np.sort``; where numpy's sort is slow (below), 32-bit floats are grouped by their top bits
  and each group's values marked in a table that stays in cache (:func:`window_distinct`), and
  64-bit floats radix-sorted by their bit patterns (:func:`radix_distinct`), both O(n).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

#: Up to this many distinct values the matching route is taken (few-bit and tone signals).
FEW = 4096
#: Values per run of top-digit groups that the radix route sorts at a time (4 MiB of float32).
SLICE = 1 << 20
#: The radix route's counting sorts index with int32.
RADIX_MAX = np.iinfo(np.int32).max
_DIGIT_BITS = 16
#: The window route groups 32-bit patterns by their top 12 bits; the values of a group differ
#: only in the low 20, marked in a 1 MiB table that stays in the core's L2 cache.
WINDOW_BITS = 20
#: Groups smaller than this are sorted rather than marked (counting and clearing the table
#: costs about as much as sorting 4096 values).
SORT_BELOW = 4096
#: Values of a group marked at a time (bounds the index buffer: 8 bytes a value).
MARK_BLOCK = 1 << 18


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
    if flat.dtype.itemsize in (4, 8) and flat.size < RADIX_MAX and numpy_sort_is_microcoded():
        return window_distinct(flat) if flat.dtype.itemsize == 4 else radix_distinct(flat)
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


def window_distinct(flat: np.ndarray) -> int:
    """Exact distinct count of a 1-D array of finite 32-bit floats (fewer than 2**31) in O(n),
    with no sort of the whole array.

    One stable counting-sort pass (:class:`_Grouper`) groups the bit patterns by their top
    32 - :data:`WINDOW_BITS` bits; values in different groups differ. The values of each group
    then differ only in their low bits, so each group's distinct count is the number of
    entries its values mark in a table of ``2**WINDOW_BITS`` flags, counted and cleared before
    the next group; a group under :data:`SORT_BELOW` values is sorted instead. Measured on the
    95 s 48 kHz float32 song (9.1 M values) on an EPYC Zen 4: 70-90 ms, against 130-160 ms for
    :func:`radix_distinct` and 360-470 ms for ``np.sort`` (67-72 ms on its AVX2 path, so
    machines with a sound sort keep it). ``flat`` is only read; the extra
    memory is about 14 bytes a value for the grouping pass, then the grouped copy (4 bytes a
    value) and 3 MiB.
    """
    bits = _native(flat).view(np.uint32)
    grouper = _Grouper(bits.size, bits.dtype)
    grouped = grouper.sort(bits, [(WINDOW_BITS, 32 - WINDOW_BITS)])
    starts = grouper.indptr[: (1 << (32 - WINDOW_BITS)) + 1].copy()
    del grouper  # its buffers but the grouped copy
    sizes = np.diff(starts)
    count = int(np.count_nonzero(sizes == 1))
    seen = np.zeros(1 << WINDOW_BITS, dtype=np.bool_)
    index = np.empty(min(MARK_BLOCK, int(sizes.max())), dtype=np.intp)
    mask = np.uint32((1 << WINDOW_BITS) - 1)
    for g in np.flatnonzero(sizes > 1).tolist():
        a, b = int(starts[g]), int(starts[g + 1])
        if b - a < SORT_BELOW:
            part = np.sort(grouped[a:b])
            count += 1 + int(np.count_nonzero(part[1:] != part[:-1]))
            continue
        for lo in range(a, b, MARK_BLOCK):
            block = grouped[lo : min(b, lo + MARK_BLOCK)]
            low = index[: block.size]
            np.bitwise_and(block, mask, out=low, casting="unsafe")  # intp: no cast in the store
            seen[low] = True
        count += int(np.count_nonzero(seen))
        seen.fill(False)
    # +0.0 and -0.0 are one value with two bit patterns, the first of the groups 0 and 0x800
    neg = 1 << (31 - WINDOW_BITS)
    if (np.any(grouped[starts[0] : starts[1]] == 0)
            and np.any(grouped[starts[neg] : starts[neg + 1]] == 1 << 31)):
        count -= 1
    return count


def radix_distinct(flat: np.ndarray) -> int:
    """Exact distinct count of a 1-D array of finite 32- or 64-bit floats (fewer than 2**31)
    in O(n): a radix sort of the bit patterns (:func:`digit_passes`), then the equal
    neighbours counted.

    The first pass groups the whole array by its top 16 bits; values in different groups
    differ, so each run of whole groups (about :data:`SLICE` values) is then sorted on its own
    by the other digits in small reused buffers that stay in cache, and its equal neighbours
    counted. ``flat`` is only read; the extra memory is about 10 bytes a value for the first
    pass and then the grouped copy (4 or 8 bytes a value).
    """
    width = flat.dtype.itemsize
    bits = _native(flat).view(np.dtype(f"u{width}"))
    n = bits.size
    passes = digit_passes(8 * width)
    first = _Grouper(n, bits.dtype)
    grouped = first.sort(bits, passes[:1])
    starts = first.indptr.copy()  # group g holds grouped[starts[g] : starts[g + 1]]
    del first  # its buffers but the grouped copy
    cuts = np.unique(np.searchsorted(starts, np.arange(0, n, SLICE), side="right") - 1)
    bounds = np.append(starts[cuts], n)
    rest = _Grouper(int(np.diff(bounds).max()), bits.dtype)
    count = 0
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        part = rest.sort(grouped[a:b], passes[1:])
        count += (b - a) - int(np.count_nonzero(part[1:] == part[:-1]))
    # +0.0 and -0.0 are one value with two bit patterns, in the top-digit groups 0 and 0x8000
    neg = 1 << (_DIGIT_BITS - 1)
    if (np.any(grouped[starts[0] : starts[1]] == 0)
            and np.any(grouped[starts[neg] : starts[neg + 1]] == 1 << (8 * width - 1))):
        count -= 1
    return count


class _Grouper:
    """Stable counting-sort passes over the bit patterns of up to ``n`` values, in buffers
    allocated once (the pages of the ones a caller never reaches are never touched).

    Each pass is scipy's compiled COO-to-CSR conversion: it groups entries by row index
    keeping their order, and "duplicate entries are carried over" (its documented behaviour),
    so with the digit as the row and the pattern riding along it is one counting sort."""

    def __init__(self, n: int, bits: np.dtype):
        self.bits = bits
        # 32-bit patterns ride in the int32 column indices beside a 1-byte value; 64-bit ones
        # in the values beside a column of zeros
        self.in_columns = bits.itemsize == 4
        self.carrier = np.dtype(np.int32) if self.in_columns else bits
        self.indptr = np.empty((1 << _DIGIT_BITS) + 1, dtype=np.int32)
        self.digit = np.empty(n, dtype=np.int32)
        self.rider = np.zeros(n, dtype=np.int8 if self.in_columns else np.int32)
        self.rider_out = np.empty_like(self.rider)
        self.buffers = (np.empty(n, dtype=self.carrier), np.empty(n, dtype=self.carrier))

    def sort(self, values: np.ndarray, passes: list[tuple[int, int]]) -> np.ndarray:
        """``values`` (unsigned patterns) grouped by the ``passes`` digits, last pass first:
        a view of one of this grouper's buffers, valid until its next call."""
        from scipy.sparse import _sparsetools

        m = values.size
        digit, rider, rider_out = self.digit[:m], self.rider[:m], self.rider_out[:m]
        src = values.view(self.carrier)
        for k, (shift, size) in enumerate(passes):
            _digit(src.view(self.bits), shift, size, digit)
            dst = self.buffers[k % 2][:m]
            if self.in_columns:
                _sparsetools.coo_tocsr(1 << size, 1, m, digit, src, rider, self.indptr, dst,
                                       rider_out)
            else:
                _sparsetools.coo_tocsr(1 << size, 1, m, digit, rider, src, self.indptr,
                                       rider_out, dst)
            src = dst
        return src.view(self.bits)


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
    disabled); the window route counts them in 70-90 ms. Zen 3 has no AVX-512 and Zen 5 (family
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


def _native(flat: np.ndarray) -> np.ndarray:
    """``flat`` contiguous in the machine's byte order (no copy when it is): the bit patterns
    the grouping routes read, -0.0 among them, are those of the machine's integers."""
    return np.ascontiguousarray(flat, dtype=flat.dtype.newbyteorder("="))


def _on_int16_grid(v: np.ndarray) -> bool:
    """Every value of ``v`` is a multiple of 2**-15 within [-1, 1]."""
    if not np.abs(v).max() <= 1.0:  # first: scaling values near the float32 limit overflows
        return False
    codes = v * 32768.0
    return bool(np.array_equal(codes, np.round(codes)))
