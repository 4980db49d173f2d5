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
#: 2 frames = 0.09 s, 256 frames = 11.9 s).
LOOP_MIN_LAG, LOOP_MAX_LAG = 2, 256
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
    to the host once. Each lag is screened on two fixed random projections of the frames (a
    1-D comparison per lag; a repeat passes both exactly, a non-repeat almost never), and the
    longest candidates are confirmed on the full frame distance."""
    a = _host(x)
    if a.ndim != 3 or a.shape[1] < 2 * LOOP_MIN_LAG:
        return None
    f = a[0].astype(np.float64)
    if not np.isfinite(f).all():
        return None
    n = f.shape[0]
    norm = np.linalg.norm(f, axis=1)
    r = np.random.default_rng(0).standard_normal((f.shape[1], 2))
    proj = f @ (r / np.linalg.norm(r, axis=0))
    cands = []
    for lag in range(LOOP_MIN_LAG, min(LOOP_MAX_LAG, n // 2) + 1):
        run = _longest_run(_same(proj[lag:], proj[:-lag], norm[lag:], norm[:-lag]))
        if run is not None:
            cands.append((run[1] - run[0] + lag, -lag))  # ties: the shortest period
    best: LatentLoop | None = None
    for _, neg_lag in sorted(cands, reverse=True)[:3]:
        lag = -neg_lag
        d = np.linalg.norm(f[lag:] - f[:-lag], axis=1)
        run = _longest_run(_same(d, 0.0, norm[lag:], norm[:-lag]))
        if run is not None:
            cand = LatentLoop(lag, run[0] + lag, run[1] + lag, n)
            if best is None or (cand.looped_frames, -cand.lag) > (best.looped_frames, -best.lag):
                best = cand
    return best


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
    least :data:`GAP_MIN_SAMPLES` and at most ``max_len`` samples where every channel is exactly zero, with a peak of at least
    :data:`GAP_EDGE_LEVEL` within :data:`GAP_EDGE_SAMPLES` on both sides. Torch data is
    reduced on its device to the per-sample all-zero mask; only when a zero sample exists do
    the run positions cross to the host."""
    if hasattr(wc, "detach"):
        import torch

        t = wc.detach()
        zero = (t == 0).flatten(0, 1).all(dim=0)
        if not bool(zero.any()):
            return Gaps(0, (), 0)
        mag = t.abs().flatten(0, 1).amax(dim=0).to(torch.float64).cpu().numpy()
        zero = zero.cpu().numpy()
    else:
        w = np.asarray(wc)
        zero = (w == 0).reshape(-1, w.shape[-1]).all(axis=0)
        if not zero.any():
            return Gaps(0, (), 0)
        mag = np.abs(w).reshape(-1, w.shape[-1]).max(axis=0).astype(np.float64)
    edges = np.diff(np.concatenate([[0], zero.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    n = zero.shape[0]
    length = ends - starts
    keep = (starts > 0) & (ends < n) & (length >= GAP_MIN_SAMPLES) & (length <= max_len)
    starts, ends = starts[keep], ends[keep]
    if len(starts) == 0:
        return Gaps(0, (), 0)
    k = np.arange(1, GAP_EDGE_SAMPLES + 1)
    before = mag[np.clip(starts[:, None] - k, 0, n - 1)].max(axis=1)
    after = mag[np.clip(ends[:, None] + k - 1, 0, n - 1)].max(axis=1)
    level = GAP_EDGE_LEVEL * full_scale
    loud = (before >= level) & (after >= level)
    starts, ends = starts[loud], ends[loud]
    listed = tuple((int(s), int(e - s)) for s, e in zip(starts[:GAPS_LISTED], ends[:GAPS_LISTED]))
    return Gaps(int(len(starts)), listed, int((ends - starts).max()) if len(starts) else 0)


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
