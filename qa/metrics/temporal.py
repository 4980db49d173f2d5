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
#: Samples per BLAS dot product in float32 sums (bounds their rounding, ~1e-6 relative).
_DOT_BLOCK = 1 << 16
#: Level of an all-zero frame, dBFS (a number, so envelopes stay arrays; never reported).
ENVELOPE_FLOOR_DB = -200.0


# -- envelope and dropouts --------------------------------------------------------------------


def rms_envelope(samples: np.ndarray, sample_rate: int, frame_s: float = 0.01) -> np.ndarray:
    """RMS of consecutive non-overlapping frames in dBFS, power summed over the channels (so
    opposite-phase channels do not cancel). The last partial frame is dropped. A frame's sum
    of squares is taken in the samples' precision (float32: relative error below 1e-6, i.e.
    4e-6 dB, for frames of up to 10^5 samples) and the levels are float64."""
    return power_to_db(frame_power(samples, frame_hop(sample_rate, frame_s)))


def frame_hop(sample_rate: int, frame_s: float) -> int:
    """Samples per envelope frame of ``frame_s`` seconds."""
    return max(1, int(round(frame_s * sample_rate)))


def frame_power(samples: np.ndarray, hop: int) -> np.ndarray:
    """(n // hop,) float64 mean square of consecutive ``hop``-sample frames over all channels."""
    x = np.asarray(samples)
    x = x[None, :] if x.ndim == 1 else x
    n = x.shape[1] // hop
    out = np.empty(n)
    step = max(1, BLOCK // hop)
    for i in range(0, n, step):
        j = min(i + step, n)
        blk = x[:, i * hop : j * hop]
        if blk.dtype not in (np.float32, np.float64):
            blk = blk.astype(np.float64)
        blk = blk.reshape(x.shape[0], j - i, hop)
        out[i:j] = np.einsum("cfk,cfk->f", blk, blk) / (hop * x.shape[0])
    return out


def power_to_db(power: np.ndarray) -> np.ndarray:
    """Mean-square power -> dBFS, floored at :data:`ENVELOPE_FLOOR_DB` (zero power included)."""
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(power), ENVELOPE_FLOOR_DB)


@dataclass(frozen=True, eq=False)
class RmsEnvelope:
    """The RMS envelope of a file, computed once and shared (dropouts, the level spread, the
    song-level checks): ``power`` (T,) float64 mean square of consecutive ``hop``-sample frames,
    power summed over the channels; the last partial frame is dropped."""

    power: np.ndarray
    sample_rate: int
    hop: int

    @property
    def frame_s(self) -> float:
        return self.hop / self.sample_rate

    def db(self) -> np.ndarray:
        """(T,) dBFS, floored at :data:`ENVELOPE_FLOOR_DB` (exactly :func:`rms_envelope`)."""
        return power_to_db(self.power)

    def pooled_db(self, factor: int) -> np.ndarray:
        """dBFS of frames ``factor`` times longer (power means of ``factor`` frames): the same
        as :func:`rms_envelope` with ``frame_s * factor`` when that rounds to
        ``hop * factor`` samples."""
        k = self.power.size // factor
        return power_to_db(self.power[: k * factor].reshape(k, factor).mean(axis=1))


def envelope(samples: np.ndarray, sample_rate: int, frame_s: float = 0.01) -> RmsEnvelope:
    """The :class:`RmsEnvelope` of ``frame_s``-second frames."""
    hop = frame_hop(sample_rate, frame_s)
    return RmsEnvelope(frame_power(samples, hop), int(sample_rate), hop)


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
                    below_typical_db: float = 50.0, edge_s: float = 0.03,
                    env: RmsEnvelope | None = None) -> Dropouts:
    """Find interior runs of frames more than ``below_typical_db`` under the typical level.

    The typical level is the median of the frames within 60 dB of the loudest; the edge level
    of a run is the loudest frame in the ``edge_s`` next to it (skipping the frame the cut falls
    in), so a hard cut shows an edge near the typical level and a fade one far below it.
    ``env``: the file's :class:`RmsEnvelope` when already computed (its frame length is used).
    """
    frame_s = env.frame_s if env is not None else frame_s
    env = env.db() if env is not None else rms_envelope(samples, sample_rate, frame_s)
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
    """Correlation of the first two channels over the whole file.

    Each channel's mean is removed first (float64 mean), then each block's sums and products
    are BLAS dot products in the samples' precision (float32 for float32 samples: a relative
    error of ~1e-6 of the centred sums, as :func:`lag_autocorrelation`; the phase check's
    threshold on the correlation is 0.1 wide), accumulated in float64. Removing the mean
    first keeps a large DC offset from cancelling the variance away. The raw (uncentred)
    sums for the side/mid ratio follow from the centred ones exactly in float64."""
    x = np.asarray(samples)
    if x.ndim != 2 or x.shape[0] < 2:
        return StereoImage(None, None, "mono: one channel has no stereo image")
    n = x.shape[1]
    dt = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    mu = x[:2].mean(axis=1, dtype=np.float64)
    mu_l, mu_r = dt.type(mu[0]), dt.type(mu[1])
    c = np.zeros(5)  # centred: sum l, sum r, sum ll, sum rr, sum lr
    for i in range(0, n, _DOT_BLOCK):
        l = x[0, i : i + _DOT_BLOCK].astype(dt, copy=False) - mu_l
        r = x[1, i : i + _DOT_BLOCK].astype(dt, copy=False) - mu_r
        c += (l.sum(dtype=np.float64), r.sum(dtype=np.float64), float(np.dot(l, l)),
              float(np.dot(r, r)), float(np.dot(l, r)))
    ml, mr = float(mu_l), float(mu_r)  # the means removed (rounded to the samples' precision)
    s = np.array([c[0] + n * ml, c[1] + n * mr,
                  c[2] + 2.0 * ml * c[0] + n * ml * ml,
                  c[3] + 2.0 * mr * c[1] + n * mr * mr,
                  c[4] + ml * c[1] + mr * c[0] + n * ml * mr])
    # moments about the means (the centred sums carry the residual of the rounded means)
    dl, dr = c[0] / n, c[1] / n
    vl, vr = c[2] / n - dl * dl, c[3] / n - dr * dr
    cov = c[4] / n - dl * dr
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
    # The mean is removed in the samples' precision and each block's products are summed by
    # BLAS dot products (float32 for float32 samples: relative error ~1e-6 of r1 and r2, the
    # threshold on r2 - r1 is 0.05); the blocks' sums accumulate in float64.
    dt = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    mu = means.astype(dt)[:, None]
    s0 = s1 = s2 = 0.0
    for i in range(0, n, BLOCK):
        m = x[:, i : i + BLOCK + 2] - mu
        k = min(BLOCK, n - i)
        k1, k2 = min(k, m.shape[1] - 1), min(k, m.shape[1] - 2)
        for row in m:
            s0 += float(np.dot(row[:k], row[:k]))
            s1 += float(np.dot(row[:k1], row[1 : k1 + 1]))
            s2 += float(np.dot(row[:k2], row[2 : k2 + 2]))
    if s0 <= 0:
        return Interleave(None, None)
    return Interleave(s1 / s0, s2 / s0)


def envelope_range_db(samples: np.ndarray, sample_rate: int, *, frame_s: float = 0.05,
                      env: RmsEnvelope | None = None) -> float | None:
    """Spread of the level over time: 95th minus 10th percentile of the 50 ms frame levels
    within 60 dB of the loudest frame, in dB. Music and speech move by several dB (measured
    5.8 dB or more); steady noise or a buzz stays within a fraction of a dB. None when the
    file is shorter than 20 frames or silent. ``env``: the file's shorter-frame
    :class:`RmsEnvelope`, pooled when ``frame_s`` is a whole number of its frames."""
    hop = frame_hop(sample_rate, frame_s)
    if env is not None and hop % env.hop == 0:
        env = env.pooled_db(hop // env.hop)
    else:
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


#: Seam positions scored per batch in :func:`seam_discontinuity` (batch x channels x 2 window
#: float64 values: 256 x 2 x 1024 x 8 B = 4 MiB).
SEAM_BATCH = 256


def seam_discontinuity(samples: np.ndarray, positions, *, window: int = 512) -> np.ndarray:
    """Jump size at each seam position relative to the typical sample-to-sample change nearby.

    For a seam at frame ``p`` (first sample of the new chunk) the jump is the deviation of
    ``x[p]`` from the line through ``x[p-2], x[p-1]`` (a step of height h gives h), and the
    typical change is the RMS of that deviation over ``window`` frames either side, excluding
    the seam itself. Returns (len(positions),) ratios, the largest over the channels;
    smooth audio gives about 1 at random positions, a click or step tens to hundreds; NaN for
    positions closer than 2 frames to either end of the file.

    Positions with a whole window inside the file are scored together, :data:`SEAM_BATCH` at a
    time (one gather and one second difference per batch); the few near the ends one by one.
    """
    x = np.asarray(samples)
    x = x[None, :] if x.ndim == 1 else x
    n = x.shape[1]
    pos = np.asarray(list(positions), dtype=np.int64).reshape(-1)
    out = np.full(pos.shape, np.nan)
    inside = (pos >= 2) & (pos < n - 2)
    whole = inside & (pos >= window) & (pos + window <= n)
    j = window - 2  # residual index of the seam within a whole window
    keep = np.ones(2 * window - 2, dtype=bool)
    keep[max(0, j - 2) : j + 3] = False
    n_keep = int(keep.sum())
    offsets = np.arange(-window, window)
    idx_whole = np.flatnonzero(whole)
    for b in range(0, idx_whole.size, SEAM_BATCH):
        sel = idx_whole[b : b + SEAM_BATCH]
        seg = x[:, pos[sel, None] + offsets].astype(np.float64)  # (channels, batch, 2 window)
        e = seg[..., 2:] + seg[..., :-2]
        e -= 2.0 * seg[..., 1:-1]
        jump = np.abs(e[:, :, j])
        np.square(e, out=e)
        # mean square without the seam's 5 samples: the total minus theirs (no masked copy)
        ms = (e.sum(axis=-1) - e[:, :, ~keep].sum(axis=-1)) / n_keep
        out[sel] = _ratio(jump, np.sqrt(np.maximum(ms, 0.0)))
    for i in np.flatnonzero(inside & ~whole):
        p = int(pos[i])
        a, b = max(0, p - window), min(n, p + window)
        e = _residual(x[:, a:b])  # index k -> frame a + k + 2
        k = p - a - 2
        mask = np.ones(e.shape[1], dtype=bool)
        mask[max(0, k - 2) : k + 3] = False
        out[i] = _ratio(np.abs(e[:, k])[:, None], np.sqrt(np.mean(e[:, mask] ** 2, axis=1))[:, None])[0]
    return out


def _ratio(jump: np.ndarray, typ: np.ndarray) -> np.ndarray:
    """(channels, k) jumps over typical changes -> (k,) largest ratio over the channels; a jump
    in a silent neighbourhood is infinite, no jump in one 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(typ > 0, jump / typ, np.where(jump > 0, np.inf, 0.0))
    return r.max(axis=0)


#: Residual samples per block in the outlier scan of :func:`jump_outliers`.
SCAN_BLOCK = 1 << 16


def jump_outliers(samples: np.ndarray, k: int = 200, *, half_window: int = 1024) -> np.ndarray:
    """Frame positions (sorted) of the ``k`` largest normalised jumps: the second-difference
    residual (largest over the channels) divided by its RMS over ``half_window`` residual
    samples either side. The position of residual index i is i + 2 (the new chunk's first
    frame, see :func:`_residual`).

    Scanned in blocks of :data:`SCAN_BLOCK` with ``half_window`` of context each side (the
    window sums of a block come from its own float64 cumulative sum, so nothing is
    file-sized). The residual is taken in the samples' precision (float32: a relative error
    of 1e-7, which only reorders near-ties; the grids found are scored in float64 by
    :func:`seam_discontinuity`). Once ``k`` values are held, a block contributes only its
    values above the smallest of them, found through a lower bound of their windows
    (:func:`_ratios_above`), so most blocks sum no window and need no selection at all."""
    x = np.asarray(samples)
    x = x[None, :] if x.ndim == 1 else x
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    size = x.shape[1] - 2  # residual length
    w = half_window
    pos = np.empty(0, dtype=np.int64)
    val = np.empty(0)
    for a in range(0, size, SCAN_BLOCK):
        b = min(a + SCAN_BLOCK, size)
        lo0, hi0 = max(0, a - w), min(size, b + w)
        seg = x[:, lo0 : hi0 + 2]
        r = seg[:, 2:] + seg[:, :-2]
        r -= 2 * seg[:, 1:-1]
        np.abs(r, out=r)
        e = r.max(axis=0)  # index i -> residual lo0 + i
        sq = np.square(e, out=e)  # ranked by z^2 = residual^2 / window mean square
        if val.size < k:  # the first values all enter
            z = _window_ratios(sq, a, b, lo0, size, w)
            pos, val = np.concatenate([pos, np.arange(a, b)]), np.concatenate([val, z])
        else:  # only values above the k-th best so far can enter
            floor = float(val.min())
            whole = a - w >= 0 and b + w <= size  # every window whole: 2 w residual samples
            found = _ratios_above(sq, w, b - a, w, floor) if whole else None
            if found is None:
                z = _window_ratios(sq, a, b, lo0, size, w)
                new = np.flatnonzero(z > floor)
                found = (new, z[new])
            new, z_new = found
            if new.size == 0:
                continue
            pos, val = np.concatenate([pos, new + a]), np.concatenate([val, z_new])
        if val.size > k:
            top = np.argpartition(val, -k)[-k:]
            pos, val = pos[top], val[top]
    if pos.size == 0:
        return np.empty(0, dtype=np.int64)
    return (np.sort(pos) + 2).astype(np.int64)


def _window_ratios(sq: np.ndarray, a: int, b: int, lo0: int, size: int, w: int) -> np.ndarray:
    """z^2 of every residual position in [a, b): ``sq`` (residual squared from ``lo0``) over
    its mean over the ``w`` residual samples either side (fewer at the ends of the file)."""
    c = np.zeros(sq.size + 1)
    np.cumsum(sq, dtype=np.float64, out=c[1:])
    if a - w >= 0 and b + w <= size:
        ms = c[2 * w : 2 * w + b - a] - c[: b - a]
        ms /= 2 * w
    else:
        i = np.arange(a, b)
        lo, hi = np.maximum(i - w, 0) - lo0, np.minimum(i + w, size) - lo0
        ms = (c[hi] - c[lo]) / (hi - lo)
    z = np.zeros(b - a)
    np.divide(sq[a - lo0 : b - lo0], ms, out=z, where=ms > 0)
    return z


#: Residual samples per sub-block of the bound in :func:`_ratios_above`.
_SUB = 256
#: Sub-blocks and candidates past the bound beyond which :func:`_ratios_above` leaves the
#: block to the full computation (a steady tone: every sub-block holds a value near the floor).
_MAX_ROWS = 64
_MAX_CANDIDATES = 2048


def _ratios_above(sq: np.ndarray, off: int, m: int, w: int, floor: float):
    """(positions, z^2) of the positions i in [0, m) (``sq`` index ``off + i``, every window
    whole) whose z^2 = sq / window mean square exceeds ``floor``; None when too many positions
    pass the bound to gather (see :data:`_MAX_ROWS`).

    The window [p - w, p + w) of every position p in sub-block j holds sub-blocks
    j - w/SUB + 1 ... j + w/SUB - 1 whole, so their sum bounds its mean square from below:
    z^2 <= floor wherever sq <= floor * bound, and only the few positions above it (about
    1,300 in a 95 s song against 4.6 M) have their window summed."""
    if off % _SUB or m % _SUB or w % _SUB:
        return None
    q = w // _SUB
    sub = sq[: sq.size // _SUB * _SUB].reshape(-1, _SUB).sum(axis=1, dtype=np.float64)
    csub = np.concatenate(([0.0], np.cumsum(sub)))
    j = np.arange(off // _SUB, (off + m) // _SUB)
    bound = (csub[j + q] - csub[j - q + 1]) / (2 * w)
    # a hair under the bound: its float sums may round above the window's
    limit = (floor * (1.0 - 1e-9)) * bound
    block = sq[off : off + m].reshape(-1, _SUB)
    rows = np.flatnonzero(block.max(axis=1) > limit)
    if rows.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    if rows.size > _MAX_ROWS:
        return None
    hit = block[rows] > limit[rows, None]
    cand = (rows[:, None] * _SUB + np.arange(_SUB))[hit]
    if cand.size > _MAX_CANDIDATES:
        return None
    p = off + cand
    ms = sq[p[:, None] + np.arange(-w, w)].sum(axis=1, dtype=np.float64) / (2 * w)
    z = sq[p] / ms  # ms > 0: sq[p] > 0 lies in its own window
    keep = z > floor
    return cand[keep].astype(np.int64), z[keep]


#: Fewest seams a periodic grid must have to be scored: a 30 s DiffRhythm clip (first join at
#: 5.2 s, then every 4.46 s) has 6; below 5 a median over a handful of coincident transients
#: says little.
MIN_SEAMS = 5
#: A seam ratio this low is no jump at all: random positions in smooth audio measure about 1.
NO_JUMP_RATIO = 2.0


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
                        outliers: int = 200, min_seams: int = MIN_SEAMS, candidates: int = 12,
                        max_scored: int = 64) -> SeamSearch:
    """Search for discontinuities that repeat at a fixed period (a chunked decoder's joins).

    1. Normalise the second-difference residual by its running RMS (~23 ms) and take the
       ``outliers`` largest values (:func:`jump_outliers`). 2. The most common differences
       between their positions (and the halves/thirds of those) are candidate periods; the
       most common residue of the positions modulo a period is its phase. 3. Each candidate
       grid is scored by the median of :func:`seam_discontinuity` over all its positions (all
       grids in one batched call), so a grid must hold a jump at nearly every seam, not at a
       few coincident transients; the best grid is returned.
    """
    x = np.asarray(samples)
    x = x[None, :] if x.ndim == 1 else x
    n = x.shape[1]
    if n < 2 * min_period * min_seams:
        return SeamSearch(None, None, None, 0)
    top = jump_outliers(x, outliers)
    diffs = (top[None, :] - top[:, None])[np.triu_indices(top.size, 1)]
    diffs = diffs[diffs >= min_period]
    counts = Counter(diffs.tolist())
    periods: list[int] = []
    for d, _ in counts.most_common(candidates):
        for m in (1, 2, 3):
            if d % m == 0 and d // m >= min_period and d // m not in periods:
                periods.append(d // m)
    grids: list[tuple[int, int, int, np.ndarray]] = []  # period, phase, seams, scored subset
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
        grids.append((int(p), int(phase), total, grid))
    # every candidate grid scored in one batched call
    ratios = seam_discontinuity(x, np.concatenate([g[3] for g in grids])) if grids else np.empty(0)
    bounds = np.cumsum([0] + [g[3].size for g in grids])
    scored = [SeamSearch(p, phase, float(np.nanmedian(ratios[bounds[i] : bounds[i + 1]])), total)
              for i, (p, phase, total, _) in enumerate(grids)]
    if not scored:
        return SeamSearch(None, None, None, 0)
    # A longer grid that lands on a subset of the same seams (a multiple of the true period,
    # or one that hits every other seam) can score as well or better by chance; report the
    # shortest grid that still scores at least half as well (the true chunk length: a grid
    # shorter than the chunks puts half its positions between seams and scores low).
    best = max(scored, key=lambda s: s.median_ratio)
    best = min((s for s in scored if s.median_ratio >= 0.5 * best.median_ratio),
               key=lambda s: s.period)
    return _first_seam(x, best)


def _first_seam(x: np.ndarray, grid: SeamSearch, lead: int = 4) -> SeamSearch:
    """The grid from its first real seam on. A chunked decoder's first chunk can be longer
    than the rest (DiffRhythm: the first join at 112 x 2048 frames, then every 96 x 2048), so
    the grid's residue phase lands one or more periods before the first join: leading positions
    with no jump (under :data:`NO_JUMP_RATIO`, and under half the grid's median) are dropped."""
    n = x.shape[1]
    pos = np.arange(grid.phase if grid.phase >= 2 else grid.phase + grid.period, n - 2, grid.period)
    r = seam_discontinuity(x, pos[:lead])
    k = 0
    while k < r.size - 1 and not r[k] >= min(0.5 * grid.median_ratio, NO_JUMP_RATIO):
        k += 1
    if k == 0:
        return grid
    return SeamSearch(grid.period, int(pos[k]), grid.median_ratio, grid.seams - k)
