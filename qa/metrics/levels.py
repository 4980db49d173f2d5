"""Sample-level statistics: peak, RMS, crest, DC, non-finite values, clipping, int16 wrap-around,
distinct values and denormals, per channel and overall.

One blockwise sweep over the samples (blocks of 65536 frames, float64 accumulation) computes the
sums; the rarer scans (clip runs, wrap jumps, non-finite positions) only run over blocks whose
cheap statistics say they can find something. Statistics other than the counts of non-finite
values are over the finite samples, so a NaN burst does not hide the level of the rest.
Amplitudes are linear full-scale units (1.0 = 0 dBFS); ``*_dbfs`` helpers convert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qa.metrics.distinct import distinct_values

#: A sample at or beyond this magnitude sits at the rail: int16's largest code is 32767/32768.
CLIP_LEVEL = 1.0 - 2.0**-15
#: A clip is a run of at least this many consecutive samples at the rail; one sample at full
#: scale is a peak-normalized file, not clipping.
MIN_CLIP_RUN = 2
#: A rail below full scale (gain, then a clamp at -1 or -3 dBFS: a crude "ceiling") is the
#: file's own peak, held in at least this many separate runs. Measured: none of the 43 real
#: music and speech files holds even one run of two samples at its exact peak.
MIN_RAIL_RUNS = 2
#: Samples within this relative distance of the peak sit at a sub-full-scale rail (a clamp
#: writes one value; float32 and int16 rounding keep it exact).
RAIL_TOLERANCE = 1e-6
_BLOCK = 1 << 16
#: Magnitude (full-scale units, +240 dBFS) beyond which float samples are not audio but garbage
#: that would overflow float32/float64 powers; metrics built on powers are n/a past it.
OVERRANGE = 1e12
#: An unwrapped sample must lie this far beyond full scale to count as a wrap (2**-9, 0.017 dB).
WRAP_MARGIN = 2.0**-9
#: Samples after a wrap that must stay on the wrapped side (an over-range arc, not a flip).
WRAP_LOOKAHEAD = 2
#: The unwrapped step over the step before it, for a wrap: an over-range arc changes its slope
#: slowly (a 2x change in one sample is a corner, as clipping makes).
WRAP_SLOPE_RATIO = (0.5, 2.0)
#: A wrapped signal passes through full scale: its samples next to the wraps reach the rails.
#: A file whose peak stays below this (-0.28 dBFS) was never cast past full scale, and its
#: rail-to-rail jumps (a saturated signal turned down) are not wraps.
WRAP_MIN_PEAK = 1.0 - 2.0**-5


def db(x: float) -> float | None:
    """20*log10(x) in dB, or None for 0 (minus infinity is not a number JSON can carry)."""
    if x is None or not math.isfinite(x) or x <= 0.0:
        return None
    return 20.0 * math.log10(x)


@dataclass(frozen=True)
class ChannelLevels:
    """Levels of one channel (linear full-scale units, over finite samples)."""

    peak: float
    rms: float
    dc: float
    nonfinite: int


@dataclass(frozen=True)
class LevelStats:
    """Everything the level checks read. ``first_nonfinite`` is (channel, frame) or None;
    ``clipped_samples`` counts samples in rail runs of at least :data:`MIN_CLIP_RUN`;
    ``clip_rail`` is the rail's level (linear full scale: 1.0, or the peak of a file clamped
    below full scale)."""

    channels: tuple[ChannelLevels, ...]
    frames: int
    peak: float
    rms: float
    dc: float
    nonfinite_count: int
    first_nonfinite: tuple[int, int] | None
    clipped_samples: int
    longest_clip_run: int
    clip_runs: int
    wrap_jumps: int
    first_wrap: int | None
    distinct_values: int
    denormal_count: int
    clip_rail: float = 1.0

    @property
    def samples(self) -> int:
        return self.frames * len(self.channels)

    @property
    def clipped_fraction(self) -> float:
        return self.clipped_samples / self.samples if self.samples else 0.0

    @property
    def crest_db(self) -> float | None:
        """Peak-to-RMS ratio in dB; None when the signal is all zero or its power overflows
        float64 (magnitudes beyond ~1e154, see :attr:`notes`)."""
        if not (0.0 < self.rms < math.inf and 0.0 < self.peak < math.inf):
            return None
        return 20.0 * math.log10(self.peak / self.rms)

    @property
    def notes(self) -> tuple[str, ...]:
        """Why a level metric is None when the samples are finite but absurdly large."""
        if math.isfinite(self.rms) and math.isfinite(self.peak):
            return ()
        return (f"rms_dbfs, crest_db: n/a, the mean square of samples up to {self.peak:.3g} "
                "overflows float64 (a float file holding values far outside [-1, 1])",)

    def to_metrics(self) -> dict[str, float | int | None]:
        """The contract's file metrics that this module owns."""
        dc = self.dc
        return {
            "sample_peak_dbfs": db(self.peak),
            "rms_dbfs": db(self.rms),
            "crest_db": self.crest_db,
            "dc_offset": dc,
            "clipped_fraction": self.clipped_fraction,
            "nonfinite_count": self.nonfinite_count,
            "distinct_values": self.distinct_values,
        }


def level_stats(samples: np.ndarray, *, clip_level: float = CLIP_LEVEL,
                rail: float | None = None) -> LevelStats:
    """Measure a (channels, frames) float array. Pure: reads ``samples``, never writes it.

    ``rail``: the peak of the whole file when ``samples`` are a piece of it (a segment of a
    long file): clipped runs are then counted at the file's rail (full scale when the file
    reaches it, else the file's own peak), so a quiet piece's flat tops are not its own rail."""
    x = np.asarray(samples)
    if x.ndim != 2:
        raise ValueError(f"expected (channels, frames), got shape {x.shape}")
    n_ch, n = x.shape
    s1 = np.zeros(n_ch)
    s2 = np.zeros(n_ch)
    peak = np.zeros(n_ch)
    n_finite = np.full(n_ch, n, dtype=np.int64)
    nonfinite = np.zeros(n_ch, dtype=np.int64)
    first_nf: tuple[int, int] | None = None
    denormals = 0
    wrap_jumps, first_wrap = 0, None
    # Histogram of int16 codes while every block sits on the int16 grid (the common case of
    # 16-bit files): it gives the exact distinct count in the same sweep.
    hist: np.ndarray | None = np.zeros(65536, dtype=np.int64)
    block_peaks = np.zeros((n_ch, -(-n // _BLOCK)))  # |x| max of each channel's blocks
    for start in range(0, n, _BLOCK):
        blk = x[:, start : start + _BLOCK]
        b64 = blk.astype(np.float64)
        sums = b64.sum(axis=1)
        if not np.all(np.isfinite(sums)):
            bad = ~np.isfinite(blk)
            nf = bad.sum(axis=1)
            nonfinite += nf
            n_finite -= nf
            if first_nf is None:
                ch, fr = np.nonzero(bad)
                k = int(np.argmin(fr))
                first_nf = (int(ch[k]), int(fr[k]) + start)
            blk = np.where(bad, 0.0, blk).astype(x.dtype)
            b64 = blk.astype(np.float64)
            sums = b64.sum(axis=1)
        s1 += sums
        s2 += np.einsum("ij,ij->i", b64, b64)
        bmax, bmin = blk.max(axis=1), blk.min(axis=1)
        bpeak = np.maximum(bmax, -bmin)
        block_peaks[:, start // _BLOCK] = bpeak
        peak = np.maximum(peak, bpeak)
        on_grid = False
        if hist is not None:
            hist, on_grid = _grid_histogram(hist, blk, float(bmax.max()), float(bmin.min()))
        if not on_grid:  # int16-grid data cannot hold subnormals
            denormals += _count_subnormal(blk)
        top = float(bpeak.max())
        if top > 0.5:  # a wrap jump needs a sample beyond half scale
            # Steps across the block edge are covered by starting one frame early.
            lo = max(start - 1, 0)
            hi = min(start + _BLOCK, n)
            if hi - lo > 1:
                w, fw = _wrap_jumps(x[:, lo : hi + WRAP_LOOKAHEAD], hi - lo - 1)
                wrap_jumps += w
                if fw is not None and first_wrap is None:
                    first_wrap = fw + lo
    if n_ch and float(peak.max()) < WRAP_MIN_PEAK:
        wrap_jumps, first_wrap = 0, None
    # runs at full scale when the file reaches it, else at its own peak (a clamp below full
    # scale) when it holds MIN_RAIL_RUNS of them; a piece of a file uses the file's peak
    top = rail if rail is not None else (float(peak.max()) if n_ch else 0.0)
    clipped, longest, runs, rail = _clipping_at_rail(x, clip_level, top, block_peaks)
    total_finite = int(n_finite.sum())
    chans = tuple(
        ChannelLevels(
            peak=float(peak[c]),
            rms=math.sqrt(s2[c] / n_finite[c]) if n_finite[c] else 0.0,
            dc=float(s1[c] / n_finite[c]) if n_finite[c] else 0.0,
            nonfinite=int(nonfinite[c]),
        )
        for c in range(n_ch)
    )
    distinct = (int(np.count_nonzero(hist)) if hist is not None
                else distinct_values(x, all_finite=not nonfinite.any()))
    return LevelStats(
        channels=chans,
        frames=n,
        peak=float(peak.max()) if n_ch else 0.0,
        rms=math.sqrt(s2.sum() / total_finite) if total_finite else 0.0,
        dc=_largest_dc(chans),
        nonfinite_count=int(nonfinite.sum()),
        first_nonfinite=first_nf,
        clipped_samples=clipped,
        longest_clip_run=longest,
        clip_runs=runs,
        wrap_jumps=wrap_jumps,
        first_wrap=first_wrap,
        distinct_values=distinct,
        denormal_count=denormals,
        clip_rail=rail,
    )


def _clipping_at_rail(x: np.ndarray, clip_level: float, file_peak: float, block_peaks: np.ndarray):
    """(clipped samples, longest run, runs, rail) of ``x``, a file or a piece of one whose
    file's peak is ``file_peak``: runs at full scale when that peak reaches ``clip_level``,
    else at the peak itself (a clamp below full scale) when it holds :data:`MIN_RAIL_RUNS`."""
    if file_peak >= clip_level:
        return (*_clip_runs(x, clip_level, block_peaks), 1.0)
    if file_peak <= 0.0:
        return 0, 0, 0, 1.0
    clipped, longest, runs = _clip_runs(x, file_peak * (1.0 - RAIL_TOLERANCE), block_peaks)
    if runs < MIN_RAIL_RUNS:
        return 0, longest, 0, 1.0
    return clipped, longest, runs, file_peak


def clipped_samples(x: np.ndarray, file_peak: float, clip_level: float = CLIP_LEVEL) -> int:
    """Samples of (channels, frames) ``x`` in clipped runs at the rail of a file whose peak is
    ``file_peak`` (as :func:`level_stats` with ``rail``), from one pass of block peaks."""
    if x.shape[1] == 0:
        return 0
    # fmax skips NaN; an infinite block peak only makes the block scanned (runs skip it)
    peaks = np.stack([np.fmax.reduce(np.abs(x[:, s : s + _BLOCK]), axis=1)
                      for s in range(0, x.shape[1], _BLOCK)], axis=1).astype(np.float64)
    return _clipping_at_rail(x, clip_level, file_peak, peaks)[0]


def _grid_histogram(hist: np.ndarray, blk: np.ndarray, bmax: float, bmin: float):
    """Add the block's int16 codes to ``hist``; (None, False) once a block is off the grid."""
    if not (bmin >= -1.0 and bmax <= 32767 / 32768):
        return None, False
    scaled = blk * blk.dtype.type(32768.0)
    codes = scaled.astype(np.int16)
    if not np.array_equal(scaled, codes):
        return None, False
    hist += np.bincount(codes.reshape(-1).view(np.uint16), minlength=65536)
    return hist, True


def _count_subnormal(blk: np.ndarray) -> int:
    """Nonzero samples smaller in magnitude than the dtype's smallest normal number."""
    if blk.dtype == np.float32:
        bits = blk.view(np.uint32) & np.uint32(0x7FFFFFFF)
        return int(np.count_nonzero((bits - np.uint32(1)) < np.uint32(0x007FFFFF)))
    a = np.abs(blk)
    return int(np.count_nonzero((a < np.finfo(blk.dtype).tiny) & (a > 0)))


def _largest_dc(chans: tuple[ChannelLevels, ...]) -> float:
    """The channel DC of largest magnitude, signed (full-scale units)."""
    if not chans:
        return 0.0
    return max((c.dc for c in chans), key=abs)


def _wrap_jumps(seg: np.ndarray, n_steps: int) -> tuple[int, int | None]:
    """Count int16 wrap-around jumps among the first ``n_steps`` steps of a (channels, k)
    segment (the segment carries :data:`WRAP_LOOKAHEAD` more frames for context).

    A wrap is a step of more than one full scale such that (1) the unwrapped sample (moved back
    by 2.0, the size of the int16 code range) lies beyond full scale by :data:`WRAP_MARGIN` and
    within 0.5 of the previous sample: the signal was heading past the rail and came back in
    from the other side; and (2) the signal stays on the wrapped side for the next
    :data:`WRAP_LOOKAHEAD` samples, as an over-range arc does; (3) the unwrapped step continues
    the slope before it (:data:`WRAP_SLOPE_RATIO`). A full-scale square wave unwraps onto the
    rail, not past it; a clipped or saturated signal sits flat at the rail before it flips; an fs/4 sine at 45 degrees of phase (EBU Tech 3341 case 19,
    samples +a, +a, -a, -a) passes (1) but flips back after two samples, failing (2).
    """
    d = np.diff(seg[:, : n_steps + 1], axis=1)
    cand = np.abs(d) > 1.0
    if not cand.any():
        return 0, None
    ch, idx = np.nonzero(cand)
    cur = seg[ch, idx + 1].astype(np.float64)
    unwrapped = cur - 2.0 * np.sign(d[ch, idx])
    prev = seg[ch, idx].astype(np.float64)
    is_wrap = (np.abs(unwrapped) > 1.0 + WRAP_MARGIN) & (np.abs(unwrapped - prev) < 0.5)
    # (3) The unwrapped step continues the slope that led to the rail (an over-range arc is
    # smooth): between half and twice the step before it, same direction. Hard clipping, a
    # clamp or tanh saturation arrive flat at the rail and flip to the other one: the step
    # before is (nearly) zero, so the rail-to-rail jump of a clipped signal is no wrap.
    before = prev - seg[ch, np.maximum(idx - 1, 0)].astype(np.float64)
    step = unwrapped - prev
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(before != 0, step / before, np.inf)
    is_wrap &= (idx >= 1) & (ratio >= WRAP_SLOPE_RATIO[0]) & (ratio <= WRAP_SLOPE_RATIO[1])
    for k in range(1, WRAP_LOOKAHEAD + 1):
        j = np.minimum(idx + 1 + k, seg.shape[1] - 1)
        nxt = seg[ch, j].astype(np.float64)
        is_wrap &= (np.sign(nxt) == np.sign(cur)) & (np.abs(nxt) > 0.5) & (idx + 1 + k < seg.shape[1])
    k = int(np.count_nonzero(is_wrap))
    first = int(idx[is_wrap].min()) + 1 if k else None
    return k, first


def _clip_runs(x: np.ndarray, level: float, block_peaks: np.ndarray) -> tuple[int, int, int]:
    """(samples in runs >= MIN_CLIP_RUN, longest run, number of such runs) at |x| >= level.
    Only the blocks of :data:`_BLOCK` frames whose peak (``block_peaks``, channels x blocks)
    reaches ``level`` are read: a run across a block edge has samples in both blocks, so the
    runs are found from the sorted sample indices of those blocks alone. Non-finite samples
    never count (the ``finite`` check reports them; the block peaks read them as zero)."""
    clipped = longest = runs = 0
    for row, peaks in zip(x, block_peaks):
        hot = np.flatnonzero(peaks >= level)
        if hot.size == 0:
            continue
        idx = np.concatenate([_at_or_above(row[b * _BLOCK : (b + 1) * _BLOCK], level) + b * _BLOCK
                              for b in hot])
        if idx.size == 0:
            continue
        brk = np.flatnonzero(np.diff(idx) != 1)
        lengths = np.diff(np.concatenate(([-1], brk, [idx.size - 1])))
        real = lengths[lengths >= MIN_CLIP_RUN]
        clipped += int(real.sum())
        runs += int(real.size)
        longest = max(longest, int(lengths.max()))
    return clipped, longest, runs


def _at_or_above(seg: np.ndarray, level: float) -> np.ndarray:
    a = np.abs(seg)
    return np.flatnonzero((a >= level) & (a < np.inf))
