"""Song structure from band-level frames: a short span looping near-identically (a sampler
stuck on a repeated latent span) and a song that never develops (one sustained chord).

Input everywhere is ``db``: (bands, frames) band levels in dB re full scale at a fixed hop
(:class:`qa.metrics.song.BandFrames`), floored 80 dB under the loudest value so silence has a
defined level. Distances are mean absolute dB differences over the bands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Dynamic range kept in the band levels, dB under the loudest band value.
RANGE_DB = 80.0


def floored(db: np.ndarray) -> np.ndarray:
    """Band levels floored at :data:`RANGE_DB` under their maximum (float32)."""
    db = np.asarray(db, dtype=np.float32)
    return np.maximum(db, db.max(initial=-np.inf) - RANGE_DB) if db.size else db


def pool_frames(db: np.ndarray, k: int) -> np.ndarray:
    """Mean power of each run of ``k`` frames, in dB (the last partial run dropped)."""
    t = db.shape[1] // k * k
    p = 10.0 ** (db[:, :t].reshape(db.shape[0], -1, k) / 10.0)
    return (10.0 * np.log10(p.mean(axis=2))).astype(np.float32)


# -- repetition ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loop:
    """The longest stretch in which the audio repeats itself every ``period_s`` seconds
    near-identically (mean band-level difference under the match threshold). ``start_s`` /
    ``end_s`` bound the looping stretch (the last repetition included); ``distance_db`` is
    its mean difference; ``to_end`` says whether the loop runs to the end of the audible
    content (a stuck sampler never recovers; a loop-based track changes after its 16 bars).
    None fields when no stretch repeats."""

    period_s: float | None
    start_s: float | None
    end_s: float | None
    distance_db: float | None
    to_end: bool
    audible_s: float
    #: (time s, distance dB) at the loop's period over the whole file, at most 400 points
    #: (for the report's picture); empty when no loop was found
    curve: tuple[tuple[float, float], ...] = ()

    @property
    def duration_s(self) -> float:
        return 0.0 if self.start_s is None else self.end_s - self.start_s

    @property
    def fraction(self) -> float:
        return self.duration_s / self.audible_s if self.audible_s > 0 else 0.0


def find_loop(db: np.ndarray, hop_s: float, *, min_period_s: float = 0.5,
              max_period_s: float = 4.0, match_db: float = 1.5, active_db: float = 40.0,
              min_motion_db: float = 2.0, end_margin_s: float = 3.0) -> Loop:
    """For every period from ``min_period_s`` to ``max_period_s``, in steps of half a frame,
    the distance d(t) = mean over bands |F(t) - F(t + period)| (a half-frame period compares
    with the mean of the two frames around it, so a loop whose period is not a whole number of
    frames still matches), averaged over one period from t; frames where it stays under
    ``match_db`` repeat. The longest run of repeating frames over all periods is the loop.

    Frames more than ``active_db`` under the loudest frame do not count (two silences are
    identical, not a loop), nor does a loop whose band levels half a period apart differ by
    less than ``min_motion_db`` (a held chord or a drone repeats at every period: that is
    :func:`development`'s case, not a loop). Adjacent band pairs are merged first (20 bands
    are enough to tell two spans apart, and halve the cost)."""
    db = floored(db)
    if db.shape[0] % 2:
        db = db[:-1]
    f = 0.5 * (db[0::2] + db[1::2])
    n = f.shape[1]
    level = 10.0 * np.log10(np.mean(10.0 ** (db / 10.0), axis=0)) if n else np.empty(0)
    active = level > level.max(initial=-np.inf) - active_db
    aud = np.flatnonzero(active)
    audible_s = (aud[-1] - aud[0] + 1) * hop_s if aud.size else 0.0
    lo = max(1, int(round(min_period_s / hop_s)))
    hi = min(int(round(max_period_s / hop_s)), n // 2 - 1)
    mid = 0.5 * (f[:, 1:] + f[:, :-1])  # frame t + 1/2
    best = (0, None, None, None)  # run frames, period (frames), start, mean distance
    # buffers reused for every period (fresh arrays of this size cost more in allocation and
    # page faults than the arithmetic on them)
    diff = np.empty_like(f)
    dsum = np.empty(n, dtype=np.float32)
    bands = np.float32(f.shape[0])
    c_buf = np.zeros(n + 1)
    off_buf = np.zeros(n + 1, dtype=np.int64)
    d64 = np.empty(n)  # cumulative sums of same-dtype arrays take numpy's fast path
    bad = np.empty(n, dtype=np.int64)
    for lag in range(lo, hi + 1):
        for half, other in ((0.0, f[:, lag:]), (0.5, mid[:, lag:])):
            m = other.shape[1]
            if m + 1 <= lag:
                continue
            np.subtract(other, f[:, :m], out=diff[:, :m])
            np.abs(diff[:, :m], out=diff[:, :m])
            d = np.divide(np.sum(diff[:, :m], axis=0, out=dsum[:m]), bands, out=dsum[:m])  # band mean
            ok = active[:m] & active[lag : lag + m]
            # running sums in float64, and inactive frames counted apart: a float32 sum
            # that jumps by a large penalty per silent frame cancels the small distances
            # after it (7 s of dead air made the next 3 s "repeat" at 0.0 dB)
            c = c_buf[: m + 1]
            np.cumsum(np.multiply(d, ok, out=d64[:m]), out=c[1:])
            off = off_buf[: m + 1]
            np.cumsum(np.logical_not(ok, out=bad[:m]), out=off[1:])
            smooth = (c[lag:] - c[:-lag]) / lag  # mean over one period from t
            rep = (smooth < match_db) & (off[lag:] == off[:-lag])
            if not rep.any():
                continue
            edges = np.diff(np.concatenate(([0], rep.view(np.int8), [0])))
            starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            k = int(np.argmax(ends - starts))
            run = int(ends[k] - starts[k])
            if run > best[0]:
                best = (run, lag + half, int(starts[k]), float(smooth[starts[k] : ends[k]].mean()))
    run, period, s, dist = best
    if period is None:
        return Loop(None, None, None, None, False, audible_s)
    # t in [s, s + run) compares frames [t, t + 2 period): the loop spans [s, s + run +
    # 2 period), its first repetition included
    e = min(n, s + run + int(round(2 * period)))
    h = max(1, int(round(period / 2)))
    seg = f[:, s:e]
    if seg.shape[1] <= h or float(np.abs(seg[:, h:] - seg[:, :-h]).mean()) < min_motion_db:
        return Loop(None, None, None, None, False, audible_s)
    to_end = bool(aud.size and (aud[-1] + 1 - e) * hop_s <= end_margin_s)
    lag = int(period)
    other = f[:, lag:] if period == lag else mid[:, lag:]
    d = np.abs(other - f[:, : other.shape[1]]).mean(axis=0)
    step = max(1, d.size // 400)
    pooled = d[: d.size // step * step].reshape(-1, step).mean(axis=1)
    curve = tuple((float((i * step + step / 2) * hop_s), float(v)) for i, v in enumerate(pooled))
    return Loop(period * hop_s, s * hop_s, e * hop_s, dist, to_end, audible_s, curve)


# -- development --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Development:
    """How much the spectrum moves over the song: ``change_db`` is the median over the
    sounding bands of each band's 90th-10th percentile level spread over ``block_s`` blocks
    (music measures 10 dB and more; one held chord about 0). ``blocks`` is how many audible
    blocks were measured; ``change_db`` None below ``min_blocks`` or for silence."""

    change_db: float | None
    blocks: int
    block_s: float


def development(db: np.ndarray, hop_s: float, *, block_s: float = 0.5, active_db: float = 30.0,
                band_db: float = 40.0, min_blocks: int = 10) -> Development:
    """Band levels pooled into ``block_s`` blocks; blocks more than ``active_db`` under the
    loudest (lead-in, trailing silence, the bottom of a fade) and bands more than ``band_db``
    under the loudest band do not count."""
    k = max(1, int(round(block_s / hop_s)))
    b = pool_frames(floored(db), k)
    if b.shape[1] == 0:
        return Development(None, 0, k * hop_s)
    level = 10.0 * np.log10(np.mean(10.0 ** (b / 10.0), axis=0))
    b = b[:, level > level.max() - active_db]
    if b.shape[1] < min_blocks:
        return Development(None, int(b.shape[1]), k * hop_s)
    med = np.median(b, axis=1)
    b = b[med > med.max() - band_db]
    spread = np.percentile(b, 90, axis=1) - np.percentile(b, 10, axis=1)
    return Development(float(np.median(spread)), int(b.shape[1]), k * hop_s)
