"""Song-edge and impulse metrics: clicks (isolated spikes far above the local level), a cut-off
ending (the last tens of milliseconds still at the song's level) and dead air (leading or
trailing near-digital silence).

Amplitudes are full-scale units, levels dBFS or dB relative to the file's typical level (the
median of the 10 ms frames within 60 dB of the loudest, as :func:`qa.metrics.temporal.
low_energy_runs` defines it), times in seconds. Long audio is scanned in blocks of
:data:`SCAN_BLOCK` residual samples with their context, so nothing is file-sized but the 10 ms
envelope.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.metrics.temporal import ENVELOPE_FLOOR_DB

#: Residual samples per block of the click scan (256 Ki float64 per channel: 2 MiB).
SCAN_BLOCK = 1 << 18


# -- clicks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clicks:
    """Isolated impulses, strongest first: ``times_s`` and ``ratios`` (the spike in the
    second-difference residual over the residual level around it, see :func:`find_clicks`),
    at most ``limit`` of them; ``count`` is how many exceeded ``min_ratio`` in all."""

    times_s: tuple[float, ...]
    ratios: tuple[float, ...]
    count: int
    min_ratio: float

    @property
    def max_ratio(self) -> float | None:
        return self.ratios[0] if self.ratios else None


def isolation_ratio(e: np.ndarray, idx: np.ndarray, *, long_w: int = 1024, short_w: int = 64,
                    guard: int = 2, long_guard: int | None = None) -> np.ndarray:
    """``e`` (k,) is the rectified second-difference residual, ``idx`` positions in it. For
    each position, ``e[i]`` over the largest of three RMS levels of ``e``: over ``long_w``
    samples before and after it (``long_guard`` samples either side excluded, default
    ``guard``), and over the ``short_w`` samples right after it (``guard`` samples excluded,
    so a click's own 3-sample footprint does not hide it). :func:`find_clicks` guards the long
    windows by its merge distance: the two edges of a short gap are one click, and the one
    edge must not count as the signal around the other (it would cap the ratio near
    sqrt(long_w) = 32 whatever the gap).

    A click or a step (a buffer underrun, a bad edit) is a spike with ordinary signal on both
    sides: ratio 30 to 1000s. The attack of a plucked or struck note (castanets, harpsichord,
    glockenspiel, drums) is followed at once by the note's own high-frequency energy, which the
    short after-window sees: ratio below 30 (measured, README "Thresholds").
    """
    n = e.size
    e2 = e * e

    def rms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.clip(a, 0, n), np.clip(b, 0, n)
        span = np.arange(max(int((b - a).max(initial=0)), 1))
        rows = a[:, None] + span[None, :]
        mask = rows < b[:, None]
        return np.sqrt((e2[np.minimum(rows, n - 1)] * mask).sum(axis=1) / np.maximum(b - a, 1))

    lg = guard if long_guard is None else long_guard
    ref = np.maximum(rms(idx - lg - long_w, idx - lg), rms(idx + lg + 1, idx + lg + long_w + 1))
    np.maximum(ref, rms(idx + guard + 1, idx + guard + 1 + short_w), out=ref)
    # The local level is floored at one 16-bit step (2^-15 FS): around a spike in exact digital
    # silence the ratio is then the spike in 16-bit steps, a finite number, never infinity.
    return e[idx] / np.maximum(ref, LOCAL_FLOOR)


#: Floor of the local residual level in :func:`isolation_ratio` (one 16-bit step, full scale).
LOCAL_FLOOR = 2.0 ** -15


def _candidates(e: np.ndarray, min_ratio: float, long_w: int, floor: float,
                guard: int) -> np.ndarray:
    """Positions that can reach ``min_ratio``: the long windows either side of a position
    (``guard`` samples away, :func:`isolation_ratio`) hold whole blocks of ``long_w // 4``
    samples, whose energy bounds the windows' mean square from below, so a spike under
    ``min_ratio`` times that bound (or under ``floor``) cannot be a click."""
    blk = max(1, long_w // 4)
    nb = -(-e.size // blk)
    # blocks d0..d1 away from the position's own block lie wholly inside both long windows
    d0, d1 = 1 + -(-guard // blk), (guard + long_w) // blk - 1
    en = np.zeros(nb + 2 * d1)
    en[d1 : d1 + nb] = np.add.reduceat(e * e, np.arange(0, e.size, blk))
    j = np.arange(nb) + d1
    before = sum(en[j - d] for d in range(d0, d1 + 1))
    after = sum(en[j + d] for d in range(d0, d1 + 1))
    # compared in the residual's precision (float32 for float32 audio), the bound lowered by
    # 1e-5 so its rounding can never drop a spike that reaches min_ratio
    thr = (min_ratio**2 * (1.0 - 1e-5) / long_w) * np.maximum(before, after)
    bound = np.repeat(thr.astype(e.dtype if e.dtype.kind == "f" else np.float64), blk)[: e.size]
    return np.flatnonzero((e * e >= bound) & (e >= floor))


def find_clicks(samples: np.ndarray, sample_rate: int, *, min_ratio: float = 30.0,
                min_jump: float = 1e-3, merge_s: float = 0.01, limit: int = 20,
                long_w: int = 1024) -> Clicks:
    """Scan the second-difference residual (largest over the channels) for isolated spikes
    (:func:`isolation_ratio` >= ``min_ratio``, and at least ``min_jump`` full scale: -60 dBFS,
    so a stray LSB in digital silence is not a click). Spikes closer than ``merge_s`` are one
    click (both edges of a short gap); the ``limit`` strongest are kept with their times. The
    first and last ``long_w`` samples are not scanned (an abrupt start is not a click)."""
    x = np.asarray(samples)
    x = x[None, :] if x.ndim == 1 else x
    size = x.shape[1] - 2
    merge = int(round(merge_s * sample_rate))
    ctx = long_w + merge + 4
    pos_parts, val_parts = [], []
    for a in range(0, max(size, 0), SCAN_BLOCK):
        b = min(a + SCAN_BLOCK, size)
        lo, hi = max(0, a - ctx), min(size, b + ctx)
        # float32 residual of float32 audio: the ratio needs 3 digits, not 15
        e = np.abs(np.diff(x[:, lo : hi + 2], n=2, axis=-1)).max(axis=0)
        cand = _candidates(e, min_ratio, long_w, min_jump, merge)
        cand = cand[(cand >= a - lo) & (cand < b - lo)]
        # a spike needs signal on both sides: the file's first and last long_w samples (where
        # an abrupt start or end has only one side) are not scanned
        cand = cand[(cand + lo >= long_w) & (cand + lo < size - long_w)]
        if cand.size == 0:
            continue
        z = isolation_ratio(e, cand, long_w=long_w, long_guard=merge)
        hit = z >= min_ratio
        pos_parts.append(cand[hit] + lo + 2)  # residual index i belongs to frame i + 2
        val_parts.append(z[hit])
    pos = np.concatenate(pos_parts) if pos_parts else np.empty(0, np.int64)
    val = np.concatenate(val_parts) if val_parts else np.empty(0)
    if pos.size == 0:
        return Clicks((), (), 0, min_ratio)
    # one click per cluster of spikes within merge_s: its strongest spike
    starts = np.flatnonzero(np.concatenate(([True], np.diff(pos) > merge)))
    best = np.maximum.reduceat(val, starts)
    where = np.array([pos[s + int(np.argmax(val[s:e]))] for s, e in
                      zip(starts, np.append(starts[1:], pos.size))])
    order = np.argsort(-best)[:limit]
    return Clicks(tuple(float(t) for t in where[order] / sample_rate),
                  tuple(float(v) for v in best[order]), int(starts.size), min_ratio)


# -- ends: truncation and dead air ----------------------------------------------------------------


@dataclass(frozen=True)
class Edges:
    """How the file starts and ends. ``lead_s`` / ``trail_s``: leading and trailing near-digital
    silence (10 ms frames below ``silence_dbfs``); ``end_db``: level of the last ``tail_s`` of
    audio relative to the typical level (0 dB = still at the song's level, -40 dB and lower = a
    decay or fade to silence); ``end_change_db``: level of that tail minus the level of the
    half second before it (negative = decaying). None fields for digital silence."""

    typical_dbfs: float | None
    silence_dbfs: float | None
    lead_s: float | None
    trail_s: float | None
    end_db: float | None
    end_change_db: float | None
    duration_s: float
    tail_s: float


def edges(env_db: np.ndarray, frame_s: float, *, below_typical_db: float = 50.0,
          silence_max_dbfs: float = -60.0, tail_s: float = 0.05) -> Edges:
    """``env_db`` is the 10 ms RMS envelope (:func:`qa.metrics.temporal.rms_envelope`). A frame
    is near-digital silence when it lies ``below_typical_db`` under the typical level (the
    dropout check's floor) and under ``silence_max_dbfs``: a quiet intro of a loud song is
    music, not dead air."""
    dur = env_db.size * frame_s
    if env_db.size == 0 or env_db.max() <= ENVELOPE_FLOOR_DB:
        return Edges(None, None, None, None, None, None, dur, tail_s)
    active = env_db[env_db > env_db.max() - 60.0]
    typical = float(np.median(active))
    floor = min(typical - below_typical_db, silence_max_dbfs)
    loud = np.flatnonzero(env_db > floor)
    lead = loud[0] * frame_s
    trail = (env_db.size - 1 - loud[-1]) * frame_s
    k = max(1, int(round(tail_s / frame_s)))
    p = 10.0 ** (env_db / 10.0)
    end = _db(p[-k:].mean())
    before = p[-k - int(round(0.5 / frame_s)) : -k]
    change = end - _db(before.mean()) if before.size else None
    return Edges(typical, floor, float(lead), float(trail), end - typical,
                 None if change is None else float(change), float(dur), tail_s)


def _db(power: float) -> float:
    return max(10.0 * float(np.log10(power)), ENVELOPE_FLOOR_DB) if power > 0 else ENVELOPE_FLOOR_DB
