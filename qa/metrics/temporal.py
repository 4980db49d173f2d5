"""Time-domain content metrics: the RMS envelope and dropouts, the stereo image (L/R
correlation, mid/side), lag-1/lag-2 autocorrelation of the mono mix, and discontinuities at
chunk seams (given positions, or found by searching for periodic jumps).

Amplitudes are full-scale units (1.0 = 0 dBFS); levels in dBFS; times in seconds; positions
in frames (sample index of the first sample of the new chunk). Sums accumulate in float64 over
blocks of :data:`BLOCK` frames so long files need no full-size float64 copy.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

BLOCK = 1 << 18
#: Level of an all-zero frame, dBFS (a number, so envelopes stay arrays; never reported).
ENVELOPE_FLOOR_DB = -200.0


# -- envelope and dropouts --------------------------------------------------------------------


def rms_envelope(samples: np.ndarray, sample_rate: int, frame_s: float = 0.01) -> np.ndarray:
    """RMS of consecutive non-overlapping frames in dBFS, power summed over the channels (so
    opposite-phase channels do not cancel). The last partial frame is dropped."""
    x = np.asarray(samples)
    x = x[None, :] if x.ndim == 1 else x
    hop = max(1, int(round(frame_s * sample_rate)))
    n = x.shape[1] // hop
    out = np.empty(n)
    step = max(1, BLOCK // hop)
    for i in range(0, n, step):
        j = min(i + step, n)
        blk = x[:, i * hop : j * hop].astype(np.float64).reshape(x.shape[0], j - i, hop)
        out[i:j] = np.einsum("cfk,cfk->f", blk, blk) / (hop * x.shape[0])
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(out), ENVELOPE_FLOOR_DB)


@dataclass(frozen=True)
class LowRun:
    """An interior stretch of frames below the silence floor. ``edge_before_db`` /
    ``edge_after_db`` are how far the level next to the run lies below the file's typical
    level (median of active frames): near 0 dB is a cliff (a cut), tens of dB a fade."""

    start_s: float
    duration_s: float
    edge_before_db: float
    edge_after_db: float


@dataclass(frozen=True)
class Dropouts:
    """Low-energy runs of a file, longest first, excluding lead-in and fade-out silence."""

    runs: tuple[LowRun, ...]
    floor_dbfs: float | None
    typical_dbfs: float | None
    frame_s: float

    @property
    def longest_s(self) -> float:
        return self.runs[0].duration_s if self.runs else 0.0


def low_energy_runs(samples: np.ndarray, sample_rate: int, *, frame_s: float = 0.01,
                    below_typical_db: float = 50.0, edge_s: float = 0.03) -> Dropouts:
    """Find interior runs of frames more than ``below_typical_db`` under the typical level.

    The typical level is the median of the frames within 60 dB of the loudest; the edge level
    of a run is the loudest frame in the ``edge_s`` next to it (skipping the frame the cut falls
    in), so a hard cut shows an edge near the typical level and a fade one far below it.
    """
    env = rms_envelope(samples, sample_rate, frame_s)
    if env.size == 0 or env.max() <= ENVELOPE_FLOOR_DB:
        return Dropouts((), None, None, frame_s)
    active = env[env > env.max() - 60.0]
    typical = float(np.median(active))
    floor = typical - below_typical_db
    low = env < floor
    loud = np.flatnonzero(~low)
    first, last = loud[0], loud[-1]
    inner = low.copy()
    inner[: first + 1] = False
    inner[last:] = False
    edges = np.diff(np.concatenate(([0], inner.view(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    k = max(1, int(round(edge_s / frame_s)))
    runs = []
    for s, e in zip(starts, ends):
        before = env[max(0, s - 1 - k) : max(0, s - 1)]
        after = env[e + 1 : e + 1 + k]
        eb = typical - float(before.max()) if before.size else math.inf
        ea = typical - float(after.max()) if after.size else math.inf
        runs.append(LowRun(s * frame_s, (e - s) * frame_s, eb, ea))
    runs.sort(key=lambda r: -r.duration_s)
    return Dropouts(tuple(runs), floor, typical, frame_s)


# -- stereo image and interleave --------------------------------------------------------------


@dataclass(frozen=True)
class StereoImage:
    """Pearson correlation of L and R (-1..1) and side/mid energy ratio in dB. None when the
    file is mono or a channel is silent (``reason`` says which)."""

    lr_correlation: float | None
    side_to_mid_db: float | None
    reason: str | None = None


def stereo_image(samples: np.ndarray) -> StereoImage:
    """Correlation of the first two channels over the whole file (float64 block sums)."""
    x = np.asarray(samples)
    if x.ndim != 2 or x.shape[0] < 2:
        return StereoImage(None, None, "mono: one channel has no stereo image")
    n = x.shape[1]
    s = np.zeros(5)  # sum l, sum r, sum ll, sum rr, sum lr
    for i in range(0, n, BLOCK):
        l = x[0, i : i + BLOCK].astype(np.float64)
        r = x[1, i : i + BLOCK].astype(np.float64)
        s += (l.sum(), r.sum(), l @ l, r @ r, l @ r)
    ml, mr = s[0] / n, s[1] / n
    vl, vr = s[2] / n - ml * ml, s[3] / n - mr * mr
    cov = s[4] / n - ml * mr
    if vl <= 0 or vr <= 0:
        return StereoImage(None, None, "a channel is constant (silent): correlation undefined")
    corr = float(np.clip(cov / math.sqrt(vl * vr), -1.0, 1.0))
    mid = (s[2] + s[3] + 2 * s[4]) / 4.0
    side = (s[2] + s[3] - 2 * s[4]) / 4.0
    if side <= 0:
        sm = None
    elif mid <= 0:
        sm = math.inf
    else:
        sm = 10.0 * math.log10(side / mid)
    return StereoImage(corr, None if sm is None or not math.isfinite(sm) else sm)


@dataclass(frozen=True)
class Interleave:
    """Normalised autocorrelation of the mono mix at lags 1 and 2. Audio is smooth, so r1 >=
    r2; samples that alternate between two streams (an interleaved (frames, channels) buffer
    reshaped to (channels, frames)) make neighbours two apart more alike: r2 > r1."""

    r1: float | None
    r2: float | None

    @property
    def excess(self) -> float | None:
        """r2 - r1: negative for ordinary audio, positive for an alternating scramble."""
        return None if self.r1 is None or self.r2 is None else self.r2 - self.r1


def lag_autocorrelation(samples: np.ndarray) -> Interleave:
    """r(k) = sum x[n] x[n+k] / sum x[n]^2 for k = 1, 2, each channel's mean removed and the
    sums pooled over the channels (not taken of the mono mix, which is silent when one channel
    is the negative of the other)."""
    x = np.asarray(samples)
    x = x[None, :] if x.ndim == 1 else x
    n = x.shape[1]
    if n < 3:
        return Interleave(None, None)
    means = x.mean(axis=1, dtype=np.float64)
    s0 = s1 = s2 = 0.0
    for i in range(0, n, BLOCK):
        m = x[:, i : i + BLOCK + 2].astype(np.float64) - means[:, None]
        k = min(BLOCK, n - i)
        s0 += float(np.einsum("ij,ij->", m[:, :k], m[:, :k]))
        k1, k2 = min(k, m.shape[1] - 1), min(k, m.shape[1] - 2)
        s1 += float(np.einsum("ij,ij->", m[:, :k1], m[:, 1 : k1 + 1]))
        s2 += float(np.einsum("ij,ij->", m[:, :k2], m[:, 2 : k2 + 2]))
    if s0 <= 0:
        return Interleave(None, None)
    return Interleave(s1 / s0, s2 / s0)


def envelope_range_db(samples: np.ndarray, sample_rate: int, *, frame_s: float = 0.05) -> float | None:
    """Spread of the level over time: 95th minus 10th percentile of the 50 ms frame levels
    within 60 dB of the loudest frame, in dB. Music and speech move by several dB (measured
    5.8 dB or more); steady noise or a buzz stays within a fraction of a dB. None when the
    file is shorter than 20 frames or silent."""
    env = rms_envelope(samples, sample_rate, frame_s)
    if env.size < 20 or env.max() <= ENVELOPE_FLOOR_DB:
        return None
    a = env[env > env.max() - 60.0]
    return float(np.percentile(a, 95) - np.percentile(a, 10))


# -- seams --------------------------------------------------------------------------------------


def _residual(x: np.ndarray) -> np.ndarray:
    """Second difference (deviation from linear prediction) per channel; index i belongs to
    position i + 2 of the input: a step between samples p-1 and p shows at index p - 2."""
    return np.diff(x.astype(np.float64), n=2, axis=-1)


def seam_discontinuity(samples: np.ndarray, positions, *, window: int = 512) -> np.ndarray:
    """Jump size at each seam position relative to the typical sample-to-sample change nearby.

    For a seam at frame ``p`` (first sample of the new chunk) the jump is the deviation of
    ``x[p]`` from the line through ``x[p-2], x[p-1]`` (a step of height h gives h), and the
    typical change is the RMS of that deviation over ``window`` frames either side, excluding
    the seam itself. Returns (len(positions),) ratios, the largest over the channels;
    smooth audio gives about 1 at random positions, a click or step tens to hundreds."""
    x = np.asarray(samples)
    x = x[None, :] if x.ndim == 1 else x
    n = x.shape[1]
    pos = np.asarray(list(positions), dtype=np.int64)
    out = np.full(pos.shape, np.nan)
    for i, p in enumerate(pos):
        if p < 2 or p >= n - 2:
            continue
        a, b = max(0, p - window), min(n, p + window)
        e = _residual(x[:, a:b])  # index j -> frame a + j + 2
        j = p - a - 2
        jump = np.abs(e[:, j])
        mask = np.ones(e.shape[1], dtype=bool)
        mask[max(0, j - 2) : j + 3] = False
        typ = np.sqrt(np.mean(e[:, mask] ** 2, axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(typ > 0, jump / typ, np.where(jump > 0, np.inf, 0.0))
        out[i] = float(r.max())
    return out


@dataclass(frozen=True)
class SeamSearch:
    """Best periodic seam grid found: ``period`` and ``phase`` in frames, the median jump
    ratio over every position of the grid, and how many positions it has. None fields when
    no candidate grid was found."""

    period: int | None
    phase: int | None
    median_ratio: float | None
    seams: int


def find_periodic_jumps(samples: np.ndarray, sample_rate: int, *, min_period: int = 256,
                        outliers: int = 200, min_seams: int = 8, candidates: int = 12,
                        max_scored: int = 64) -> SeamSearch:
    """Search for discontinuities that repeat at a fixed period (a chunked decoder's joins).

    1. Normalise the second-difference residual by its running RMS (~23 ms) and take the
       ``outliers`` largest local peaks. 2. The most common differences between peak positions
       (and their halves/thirds) are candidate periods; the most common residue of the peaks
       modulo a period is its phase. 3. Each candidate grid is scored by the median of
       :func:`seam_discontinuity` over all its positions, so a grid must hold a jump at nearly
       every seam, not at a few coincident transients; the best grid is returned.
    """
    x = np.asarray(samples)
    x = x[None, :] if x.ndim == 1 else x
    n = x.shape[1]
    if n < 2 * min_period * min_seams:
        return SeamSearch(None, None, None, 0)
    e = np.abs(_residual(x)).max(axis=0)
    w = 1024
    c = np.concatenate(([0.0], np.cumsum(e * e)))
    lo = np.clip(np.arange(e.size) - w, 0, e.size)
    hi = np.clip(np.arange(e.size) + w, 0, e.size)
    rms = np.sqrt((c[hi] - c[lo]) / (hi - lo))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(rms > 0, e / rms, 0.0)
    k = min(outliers, z.size)
    top = np.argpartition(z, -k)[-k:] + 2  # frame positions of the new chunks
    top.sort()
    diffs = (top[None, :] - top[:, None])[np.triu_indices(top.size, 1)]
    diffs = diffs[diffs >= min_period]
    counts = Counter(diffs.tolist())
    periods: list[int] = []
    for d, _ in counts.most_common(candidates):
        for m in (1, 2, 3):
            if d % m == 0 and d // m >= min_period and d // m not in periods:
                periods.append(d // m)
    scored: list[SeamSearch] = []
    for p in periods:
        if n // p < min_seams:
            continue
        phase = Counter((top % p).tolist()).most_common(1)[0][0]
        grid = np.arange(phase if phase >= 2 else phase + p, n - 2, p)
        if grid.size < min_seams:
            continue
        total = int(grid.size)
        if grid.size > max_scored:  # score an even subset: the median needs no more
            grid = grid[np.linspace(0, grid.size - 1, max_scored).astype(np.int64)]
        med = float(np.nanmedian(seam_discontinuity(x, grid)))
        scored.append(SeamSearch(int(p), int(phase), med, total))
    if not scored:
        return SeamSearch(None, None, None, 0)
    # A multiple of the true period samples a subset of the same seams and can score as well
    # or better by chance; report the shortest divisor of the best period whose grid still
    # scores at least half as well (the true chunk length).
    best = max(scored, key=lambda s: s.median_ratio)
    return min((s for s in scored if best.period % s.period == 0
                and (best.phase - s.phase) % s.period == 0
                and s.median_ratio >= 0.5 * best.median_ratio), key=lambda s: s.period)
