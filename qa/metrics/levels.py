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

#: A sample at or beyond this magnitude sits at the rail: int16's largest code is 32767/32768.
CLIP_LEVEL = 1.0 - 2.0**-15
#: A clip is a run of at least this many consecutive samples at the rail; one sample at full
#: scale is a peak-normalized file, not clipping.
MIN_CLIP_RUN = 2
_BLOCK = 1 << 16
#: An unwrapped sample must lie this far beyond full scale to count as a wrap (2**-9, 0.017 dB).
WRAP_MARGIN = 2.0**-9
#: Samples after a wrap that must stay on the wrapped side (an over-range arc, not a flip).
WRAP_LOOKAHEAD = 2


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
    ``clipped_samples`` counts samples in rail runs of at least :data:`MIN_CLIP_RUN`."""

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
    max_step: float

    @property
    def samples(self) -> int:
        return self.frames * len(self.channels)

    @property
    def clipped_fraction(self) -> float:
        return self.clipped_samples / self.samples if self.samples else 0.0

    @property
    def crest_db(self) -> float | None:
        """Peak-to-RMS ratio in dB; None when the signal is all zero."""
        if self.rms <= 0.0 or self.peak <= 0.0:
            return None
        return 20.0 * math.log10(self.peak / self.rms)

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


def level_stats(samples: np.ndarray, *, clip_level: float = CLIP_LEVEL) -> LevelStats:
    """Measure a (channels, frames) float array. Pure: reads ``samples``, never writes it."""
    x = np.asarray(samples)
    if x.ndim != 2:
        raise ValueError(f"expected (channels, frames), got shape {x.shape}")
    n_ch, n = x.shape
    tiny = np.finfo(x.dtype).tiny if x.dtype.kind == "f" else 0.0
    s1 = np.zeros(n_ch)
    s2 = np.zeros(n_ch)
    peak = np.zeros(n_ch)
    n_finite = np.full(n_ch, n, dtype=np.int64)
    nonfinite = np.zeros(n_ch, dtype=np.int64)
    first_nf: tuple[int, int] | None = None
    denormals = 0
    max_step = 0.0
    clip_blocks = False
    wrap_jumps, first_wrap = 0, None
    for start in range(0, n, _BLOCK):
        blk = x[:, start : start + _BLOCK]
        sums = blk.sum(axis=1, dtype=np.float64)
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
            sums = blk.sum(axis=1, dtype=np.float64)
        s1 += sums
        b64 = blk.astype(np.float64)
        s2 += np.einsum("ij,ij->i", b64, b64)
        a = np.abs(blk)
        bpeak = a.max(axis=1)
        peak = np.maximum(peak, bpeak)
        if tiny:
            denormals += int(np.count_nonzero(a < tiny) - np.count_nonzero(a == 0))
        if bpeak.max() >= clip_level:
            clip_blocks = True
        # Steps across the block edge are covered by starting one frame early.
        lo = max(start - 1, 0)
        hi = min(start + _BLOCK, n)
        seg = x[:, lo : hi + WRAP_LOOKAHEAD]
        if hi - lo > 1 and bpeak.max() > 0.5:
            w, fw, step = _wrap_jumps(seg, hi - lo - 1)
            wrap_jumps += w
            if fw is not None and first_wrap is None:
                first_wrap = fw + lo
            max_step = max(max_step, step)
    clipped, longest, runs = _clip_runs(x, clip_level) if clip_blocks else (0, 0, 0)
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
        distinct_values=distinct_values(x),
        denormal_count=denormals,
        max_step=max_step,
    )


def _largest_dc(chans: tuple[ChannelLevels, ...]) -> float:
    """The channel DC of largest magnitude, signed (full-scale units)."""
    if not chans:
        return 0.0
    return max((c.dc for c in chans), key=abs)


def _wrap_jumps(seg: np.ndarray, n_steps: int) -> tuple[int, int | None, float]:
    """Count int16 wrap-around jumps among the first ``n_steps`` steps of a (channels, k)
    segment (the segment carries :data:`WRAP_LOOKAHEAD` more frames for context).

    A wrap is a step of more than one full scale such that (1) the unwrapped sample (moved back
    by 2.0, the size of the int16 code range) lies beyond full scale by :data:`WRAP_MARGIN` and
    within 0.5 of the previous sample: the signal was heading past the rail and came back in
    from the other side; and (2) the signal stays on the wrapped side for the next
    :data:`WRAP_LOOKAHEAD` samples, as an over-range arc does. A full-scale square wave unwraps
    onto the rail, not past it; an fs/4 sine at 45 degrees of phase (EBU Tech 3341 case 19,
    samples +a, +a, -a, -a) passes (1) but flips back after two samples, failing (2).
    """
    d = np.diff(seg[:, : n_steps + 1], axis=1)
    ad = np.abs(d)
    step = float(np.nanmax(ad)) if ad.size and np.isfinite(ad).any() else 0.0
    cand = ad > 1.0
    if not cand.any():
        return 0, None, step
    ch, idx = np.nonzero(cand)
    cur = seg[ch, idx + 1].astype(np.float64)
    unwrapped = cur - 2.0 * np.sign(d[ch, idx])
    prev = seg[ch, idx].astype(np.float64)
    is_wrap = (np.abs(unwrapped) > 1.0 + WRAP_MARGIN) & (np.abs(unwrapped - prev) < 0.5)
    for k in range(1, WRAP_LOOKAHEAD + 1):
        j = np.minimum(idx + 1 + k, seg.shape[1] - 1)
        nxt = seg[ch, j].astype(np.float64)
        is_wrap &= (np.sign(nxt) == np.sign(cur)) & (np.abs(nxt) > 0.5) & (idx + 1 + k < seg.shape[1])
    k = int(np.count_nonzero(is_wrap))
    first = int(idx[is_wrap].min()) + 1 if k else None
    return k, first, step


def _clip_runs(x: np.ndarray, level: float) -> tuple[int, int, int]:
    """(samples in runs >= MIN_CLIP_RUN, longest run, number of such runs) at |x| >= level."""
    clipped = longest = runs = 0
    for row in x:
        mask = np.abs(np.nan_to_num(row)) >= level
        if not mask.any():
            continue
        edges = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
        lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
        real = lengths[lengths >= MIN_CLIP_RUN]
        clipped += int(real.sum())
        runs += int(real.size)
        longest = max(longest, int(lengths.max()))
    return clipped, longest, runs


def distinct_values(x: np.ndarray) -> int:
    """Exact count of distinct finite sample values over all channels.

    Three routes, fastest first: data on the int16 grid is counted with a 65536-bin histogram;
    data with few distinct values (checked on a strided probe) is counted by matching every
    sample against the probe's values and collecting the rest; anything else is sorted.
    """
    flat = x.reshape(-1)
    flat = flat[np.isfinite(flat)] if not np.isfinite(flat.sum(dtype=np.float64)) else flat
    if flat.size == 0:
        return 0
    codes = flat * 32768.0
    if np.abs(flat).max() <= 1.0 and np.array_equal(codes, np.round(codes)):
        ic = np.clip(codes, -32768, 32767).astype(np.int32) + 32768
        return int(np.count_nonzero(np.bincount(ic, minlength=65537)))
    probe = np.unique(flat[:: max(1, flat.size // 65536)])
    if probe.size < 4096:
        known = probe
        rest = flat
        while True:
            pos = np.clip(np.searchsorted(known, rest), 0, known.size - 1)
            rest = rest[known[pos] != rest]
            if rest.size == 0:
                return int(known.size)
            extra = np.unique(rest[: 1 << 16])
            known = np.union1d(known, extra)
            if known.size >= 4096:
                break
    return int(np.count_nonzero(np.diff(np.sort(flat))) + 1)
