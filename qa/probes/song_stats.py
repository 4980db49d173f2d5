"""Song-level statistics of one stage's output: what a stage can see of the generation faults
the song checks (:mod:`qa.checks.song`) judge on the file.

* :func:`latent_loop`: a latent (batch, frames, channels) whose frames repeat the frames a
  fixed lag earlier, near-exactly, over a long stretch (a sampler stuck on a span). Inside a
  pipeline the repeat is exact to float rounding, so the test is a tight relative distance; a
  returning chorus is regenerated and never matches frame for frame.
* :func:`short_gaps`: runs of exact digital zero shorter than a dropout block, inside loud
  signal on both sides (a buffer underrun: the consumer read before the producer wrote). No
  instrument or room goes from -40 dBFS to an exact zero and back within 23 ms.

Leading and trailing digital silence come from the block scan of :mod:`qa.probes.stats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: Lags searched for a latent loop, in frames (DiffRhythm-style latents run at 21.5 frames/s:
#: 2 frames = 0.09 s, 128 frames = 6 s, past the 0.5-4 s spans of the file check `repetition`).
LOOP_MIN_LAG, LOOP_MAX_LAG = 2, 128
#: A frame "repeats" the frame one lag earlier when their distance is under this fraction of
#: their norm (float32 copies: 0; a regenerated chorus of the reference pipeline: > 0.05).
LOOP_REL_TOL = 1e-3
#: Shortest run of exact zeros (all channels) counted as a gap, in samples (0.36 ms at 44.1 kHz):
#: low-level int16 audio crosses zero on a sample or two; a gap is a hole, not a crossing.
GAP_MIN_SAMPLES = 16
#: Longest gap, in seconds: a buffer underrun inserts one period of a stream buffer (64-128
#: frames: 1.5-2.9 ms at 44.1 kHz). espeak's synthetic speech holds exact-zero closures between
#: phonemes inside loud signal from 5.5 ms (242 samples at 44.1 kHz, 156 at 16 kHz) up, so gaps
#: from 4 ms to one dropout block are neither clicks nor dropouts at a stage (the file checks
#: ``clicks`` and ``dropout`` still see them).
GAP_MAX_S = 0.004
#: A gap is a hole cut into signal: the peak over :data:`GAP_EDGE_SAMPLES` either side must
#: reach this full-scale level (-40 dBFS), where a decay into silence has long passed.
GAP_EDGE_LEVEL = 0.01
GAP_EDGE_SAMPLES = 32
#: Gaps listed by sample index (the count is complete).
GAPS_LISTED = 20


@dataclass(frozen=True)
class LatentLoop:
    """The longest near-exact repeat: frames ``start .. end`` (end exclusive) equal the frames
    ``lag`` before them; the first period ``start - lag .. start`` is the span that loops."""

    lag: int
    start: int
    end: int
    frames: int

    @property
    def looped_frames(self) -> int:
        """Frames of the loop including its first period."""
        return self.end - self.start + self.lag

    @property
    def fraction(self) -> float:
        return self.looped_frames / self.frames

    @property
    def to_end(self) -> bool:
        return self.end == self.frames


def latent_loop(x: Any) -> LatentLoop | None:
    """The longest near-exact loop of a (batch, frames, channels) latent over the lags
    :data:`LOOP_MIN_LAG` .. :data:`LOOP_MAX_LAG` (and at most half the frames), measured on
    batch item 0; None when no frame repeats. The latent is small (frames x 64) and is copied
    to the host once. Every lag is screened at once on two fixed random projections of the
    frames (a repeat passes both exactly, a non-repeat almost never), and the longest
    candidates are confirmed on the full frame distance."""
    a = _host(x)
    if a.ndim != 3 or a.shape[1] < 2 * LOOP_MIN_LAG:
        return None
    f = a[0].astype(np.float64)
    if not np.isfinite(f).all():
        return None
    n = f.shape[0]
    hi = min(LOOP_MAX_LAG, n // 2)
    if hi < LOOP_MIN_LAG:
        return None
    norm = np.linalg.norm(f, axis=1)
    r = np.random.default_rng(0).standard_normal((f.shape[1], 2))
    proj = f @ (r / np.linalg.norm(r, axis=0))
    lags = np.arange(LOOP_MIN_LAG, hi + 1)
    # (lags, frames) masks: frame t + lag repeats frame t; padded frames (past the end) never do
    pp = np.concatenate([proj, np.full((hi, 2), np.nan)])
    pn = np.concatenate([norm, np.zeros(hi)])
    t = np.arange(n)
    later = t[None, :] + lags[:, None]
    diff = np.abs(pp[later] - proj[None]).max(axis=2)  # (lags, frames)
    mask = (diff <= LOOP_REL_TOL * np.maximum(pn[later], norm[None])) & (pn[later] > 0)
    runs = _longest_runs(mask)  # (lags, 2): start, end of each lag's longest run, -1 if none
    looped = np.where(runs[:, 0] >= 0, runs[:, 1] - runs[:, 0] + lags, -1)
    order = np.lexsort((lags, -looped))  # longest first; ties: the shortest period
    best: LatentLoop | None = None
    for i in order[:3]:
        if looped[i] < 0:
            break
        lag = int(lags[i])
        d = np.linalg.norm(f[lag:] - f[:-lag], axis=1)
        run = _longest_run(_same(d, 0.0, norm[lag:], norm[:-lag]))
        if run is not None:
            cand = LatentLoop(lag, run[0] + lag, run[1] + lag, n)
            if best is None or (cand.looped_frames, -cand.lag) > (best.looped_frames, -best.lag):
                best = cand
    return best


def _longest_runs(mask: np.ndarray) -> np.ndarray:
    """(rows, 2) start and end (exclusive) of the longest run of True in each row of ``mask``;
    -1, -1 for a row with none."""
    rows, n = mask.shape
    edges = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    r0, s = np.nonzero(edges == 1)
    _, e = np.nonzero(edges == -1)  # row-major: each run's end pairs with its start
    out = np.full((rows, 2), -1, dtype=np.int64)
    if s.size == 0:
        return out
    length = e - s
    order = np.lexsort((-length, r0))  # per row, the longest run first
    first = order[np.concatenate([[True], np.diff(r0[order]) != 0])]
    out[r0[first], 0], out[r0[first], 1] = s[first], e[first]
    return out


def _same(a, b, na, nb) -> np.ndarray:
    """Frames whose difference (of projections, or ``a`` a distance with ``b`` 0) is under
    :data:`LOOP_REL_TOL` of the larger norm; all-zero frames (silence) never loop."""
    diff = np.abs(a - b)
    if diff.ndim == 2:
        diff = diff.max(axis=1)
    return (diff <= LOOP_REL_TOL * np.maximum(na, nb)) & (na > 0)


@dataclass(frozen=True)
class Gaps:
    """Short interior gaps of digital silence: ``count`` in all, the first
    :data:`GAPS_LISTED` as (start sample, length in samples)."""

    count: int
    listed: tuple[tuple[int, int], ...]
    longest: int


def short_gaps(wc: Any, max_len: int, full_scale: float = 1.0) -> Gaps:
    """Gaps in ``wc`` (rows, channels, frames; integer codes of ``full_scale``): runs of at
    least :data:`GAP_MIN_SAMPLES` and at most ``max_len`` samples where every channel is exactly
    zero, with a peak of at least :data:`GAP_EDGE_LEVEL` within :data:`GAP_EDGE_SAMPLES` on both
    sides.

    One pass over every :data:`GAP_MIN_SAMPLES`-th sample finds the candidates (a run that long
    holds one of them), on the tensor's device; only the samples within ``max_len`` of a
    candidate are then read, on the host."""
    torch_data = hasattr(wc, "detach")
    flat = wc.detach().flatten(0, 1) if torch_data else np.asarray(wc).reshape(-1, np.shape(wc)[-1])
    n = flat.shape[-1]
    step = GAP_MIN_SAMPLES
    if torch_data:
        import torch

        hit = (flat[:, ::step] == 0).all(dim=0)
        if not bool(hit.any()):
            return Gaps(0, (), 0)
        cand = torch.nonzero(hit).flatten().cpu().numpy() * step
    else:
        cand = np.flatnonzero((flat[:, ::step] == 0).all(axis=0)) * step
        if cand.size == 0:
            return Gaps(0, (), 0)
    idx = np.unique(np.clip(cand[:, None] + np.arange(-max_len - 1, max_len + 2), 0, n - 1))
    near = _host_rows(flat, idx, torch_data)  # (rows, len(idx)) float64, the samples read
    zero = (near == 0).all(axis=0)
    # runs of zeros inside one contiguous window; a run that reaches a window's edge is longer
    # than max_len (the window reaches max_len + 1 past its candidate) or touches the file edge
    new_seg = np.concatenate([[True], np.diff(idx) != 1])
    seg_end = np.concatenate([new_seg[1:], [True]])
    prev = np.concatenate([[False], zero[:-1]]) & ~new_seg
    nxt = np.concatenate([zero[1:], [False]]) & ~seg_end
    s_i, e_i = np.flatnonzero(zero & ~prev), np.flatnonzero(zero & ~nxt)
    inside = ~new_seg[s_i] & ~seg_end[e_i]
    s_i, e_i = s_i[inside], e_i[inside]
    starts, ends = idx[s_i], idx[e_i] + 1
    length = ends - starts
    keep = (length >= GAP_MIN_SAMPLES) & (length <= max_len)
    starts, ends = starts[keep], ends[keep]
    if len(starts) == 0:
        return Gaps(0, (), 0)
    k = np.arange(1, GAP_EDGE_SAMPLES + 1)
    edge_idx = np.clip(np.concatenate([starts[:, None] - k, ends[:, None] + k - 1]), 0, n - 1)
    around = np.abs(_host_rows(flat, edge_idx.ravel(), torch_data)).max(axis=0).reshape(edge_idx.shape)
    before, after = around[: len(starts)].max(axis=1), around[len(starts):].max(axis=1)
    level = GAP_EDGE_LEVEL * full_scale
    loud = (before >= level) & (after >= level)
    starts, ends = starts[loud], ends[loud]
    listed = tuple((int(s), int(e - s)) for s, e in zip(starts[:GAPS_LISTED], ends[:GAPS_LISTED]))
    return Gaps(int(len(starts)), listed, int((ends - starts).max()) if len(starts) else 0)


def _host_rows(flat: Any, idx: np.ndarray, torch_data: bool) -> np.ndarray:
    """``flat[:, idx]`` as a float64 host array (torch data gathered on its device first)."""
    if torch_data:
        import torch

        return flat[:, torch.from_numpy(idx).to(flat.device)].to(torch.float64).cpu().numpy()
    return flat[:, idx].astype(np.float64)


def edge_zero_blocks(block_peaks) -> tuple[int, int] | None:
    """(leading, trailing) count of all-zero blocks; None when every block is zero."""
    nz = [i for i, p in enumerate(block_peaks) if p > 0]
    if not nz:
        return None
    return nz[0], len(block_peaks) - 1 - nz[-1]


def _longest_run(mask: np.ndarray) -> tuple[int, int] | None:
    """(start, end) of the longest run of True in ``mask``, end exclusive; None if none."""
    if not mask.any():
        return None
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    i = int(np.argmax(ends - starts))
    return int(starts[i]), int(ends[i])


def _host(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().float().cpu().numpy()
    return np.asarray(x)
