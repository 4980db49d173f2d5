"""Statistics of one stage's output, computed where the data lives.

A torch tensor is reduced on its own device with torch ops; the handful of scalars are stacked
into one small float64 tensor that crosses to the host with a single ``.cpu()`` (one
synchronisation per stage). numpy arrays are reduced with numpy. Nothing is kept: the returned
:class:`StageStats` holds Python numbers only.

Amplitudes are in full-scale units: float samples as they are, integer samples of an "audio"
or "pcm" stage divided by their full-scale code (int16 / 32768), so an int16 stage reads like
the float stage before it. Integer "control" data (token ids) keeps its raw values.
Statistics other than ``nonfinite`` are over the finite values only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from qa.probes.song_stats import GAP_MAX_S, Gaps, LatentLoop, edge_zero_blocks, latent_loop, short_gaps

#: Blocks of this many frames are the unit of the dropout scan (23 ms at 44.1 kHz).
DROPOUT_BLOCK = 1024
#: Samples either side of a seam over which the typical step is measured.
SEAM_WINDOW = 64
#: A float stage peaking this high (full scale) gets the whole-number test of int16 PCM codes.
PCM_SCALE_HINT = 128.0
#: Largest finite float16 value.
FLOAT16_MAX = 65504.0

_INT_FULL_SCALE = {"int8": 2.0**7, "int16": 2.0**15, "int32": 2.0**31, "int64": 2.0**63,
                   "uint8": 2.0**7}


@dataclass(frozen=True)
class StageStats:
    """What a stage check reads. ``channel_rms`` has one entry per channel (over the batch);
    ``lr_correlation`` is None unless there are exactly two channels with signal;
    ``max_step`` is the largest sample-to-sample jump along time (pcm stages);
    ``longest_zero_run_s`` the longest run of all-zero blocks with signal either side;
    ``seam_ratio`` the worst jump at a declared seam over the typical step around it;
    ``lead_zero_s`` / ``trail_zero_s``, ``gaps`` and ``loop`` what a stage sees of dead air,
    buffer underruns and a stuck sampler (:mod:`qa.probes.song_stats`)."""

    shape: tuple[int, ...]
    dtype: str
    device: str
    numel: int
    memory_bytes: int
    full_scale: float | None
    peak: float
    rms: float
    dc: float
    nonfinite: int
    integral: bool | None = None
    channel_rms: tuple[float, ...] = ()
    lr_correlation: float | None = None
    max_step: float | None = None
    longest_zero_run_s: float | None = None
    seam_ratio: float | None = None
    seam_worst: int | None = None
    #: Leading / trailing all-zero blocks, in seconds (audio and pcm stages with a layout).
    lead_zero_s: float | None = None
    trail_zero_s: float | None = None
    #: Short interior gaps of exact zero inside loud signal (:func:`qa.probes.song_stats.short_gaps`).
    gaps: Gaps | None = None
    #: The longest near-exact loop of a latent stage's frames (:func:`qa.probes.song_stats.latent_loop`).
    loop: LatentLoop | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def crest_db(self) -> float | None:
        """Peak over RMS in dB; None when the data is all zero."""
        if self.rms <= 0 or self.peak <= 0:
            return None
        return 20.0 * math.log10(self.peak / self.rms)


def is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def stage_stats(x: Any, *, kind: str = "audio", layout: str | None = None,
                sample_rate: int | None = None, seams: Sequence[int] = ()) -> StageStats:
    """Statistics of ``x`` (torch tensor or numpy array). ``kind`` is "audio", "pcm",
    "latent" or "control"; ``layout`` "channels_first" (…, channels, frames) or
    "channels_last" (…, frames, channels) enables the per-channel, step, dropout and seam
    statistics of audio and pcm stages."""
    if is_torch(x):
        st = _torch_stats(x, kind, layout, sample_rate, tuple(seams))
    else:
        x = np.asarray(x)
        st = _numpy_stats(x, kind, layout, sample_rate, tuple(seams))
    return _song_stats(st, x, kind, layout, sample_rate)


def _song_stats(st: StageStats, x: Any, kind: str, layout: str | None,
                sample_rate: int | None) -> StageStats:
    """``st`` with the latent loop of a latent stage, or the short gaps of an audio stage."""
    if st.nonfinite or st.numel == 0:
        return st
    if kind == "latent" and layout == "batch_frames_channels":
        return replace(st, loop=latent_loop(x))
    axes = _axes(st.shape, layout) if kind in ("audio", "pcm") else None
    if axes is None:
        return st
    if layout == "channels_last":
        x = x.transpose(-1, -2) if is_torch(x) else np.swapaxes(x, -1, -2)
    wc = x.reshape(-1, x.shape[-2], x.shape[-1])
    longest = min(DROPOUT_BLOCK - 1, int(GAP_MAX_S * (sample_rate or 44100)))
    return replace(st, gaps=short_gaps(wc, longest, st.full_scale or 1.0))


def _axes(shape: tuple[int, ...], layout: str | None) -> tuple[int, int] | None:
    """(channel axis, time axis) for a layout, or None when the stage has no audio layout."""
    if layout not in ("channels_first", "channels_last") or len(shape) < 2:
        return None
    return (-2, -1) if layout == "channels_first" else (-1, -2)


def _full_scale(dtype_name: str, kind: str) -> float | None:
    if kind in ("audio", "pcm"):
        return _INT_FULL_SCALE.get(dtype_name)
    return None


# -- torch ------------------------------------------------------------------------------------
def _torch_stats(x, kind, layout, sample_rate, seams) -> StageStats:
    """Fast path first (:func:`_torch_fused`); data that is not all finite takes the masked
    path (:func:`_torch_masked`), which counts and excludes the NaN/Inf values."""
    import torch

    t = x.detach()
    dtype_name = str(t.dtype).replace("torch.", "")
    shape = tuple(int(n) for n in t.shape)
    fs = _full_scale(dtype_name, kind)
    if t.numel() == 0:
        return StageStats(shape, dtype_name, str(t.device), 0, 0, fs, 0.0, 0.0, 0.0, 0,
                          notes=("empty: no values",))
    axes = _axes(shape, layout) if kind in ("audio", "pcm") else None
    # float16/bfloat16/int: reduce in float32 on the device (sums of squares overflow float16).
    w = t if t.dtype in (torch.float32, torch.float64) else t.to(torch.float32)
    packed = _torch_fused(w, fs, kind, layout, axes is not None, seams)
    if packed is None:
        return _torch_masked(x, kind, layout, sample_rate, seams)
    integral = None
    if kind == "audio" and t.is_floating_point() and packed[1] >= PCM_SCALE_HINT:
        # Only on the failing path (values at PCM scale): are they whole numbers?
        integral = bool((w == torch.round(w)).all())
    return _unpack(packed, shape, dtype_name, str(x.device), t.numel(), x.element_size() * x.numel(),
                   fs, integral, shape[axes[0]] if axes else 0, axes is not None, shape, layout,
                   sample_rate, seams, kind)


def _torch_fused(w, fs, kind, layout, has_axes, seams) -> list[float] | None:
    """The statistics in as few passes over ``w`` (float32/64) as torch allows on one core:
    one ``aminmax``, one block sum and one block Gram product (per 1024-frame block: each
    channel's sum of squares and, for stereo, the L*R product; ``vector_norm`` per block for
    other channel counts), accumulated across blocks in float64. The per-block sums of squares
    also give the dropout scan: only when a block has no energy at all are the exact block
    peaks computed. Returns the packed list :func:`_unpack` reads, or None when any value is
    NaN/Inf (a non-finite sum says so without an ``isfinite`` pass). Integer data is reduced
    unscaled and the results divided by the full-scale code (a power of two: exact)."""
    import torch

    f64 = torch.float64
    if has_axes:
        wc = w.transpose(-1, -2) if layout == "channels_last" else w
        wc = wc.reshape(-1, wc.shape[-2], wc.shape[-1])  # (rows, channels, frames)
    else:
        wc = w.reshape(1, 1, -1)
    rows, n_ch, n = wc.shape
    nb = n // DROPOUT_BLOCK
    head = nb * DROPOUT_BLOCK
    mn, mx = torch.aminmax(wc)
    tail = wc[..., head:]  # under one block per channel (all of it when there are no blocks)
    ch_sum = tail.sum(dim=(0, 2), dtype=f64)
    ch_sq = (tail * tail).sum(dim=(0, 2), dtype=f64)  # squares in w's dtype, as in the blocks
    cross = (tail[:, 0] * tail[:, 1]).sum(dtype=f64) if n_ch == 2 else None
    energy = None  # (nb,) block energy over rows and channels: zero only for all-zero blocks
    if nb:
        v = wc[..., :head].reshape(rows, n_ch, nb, DROPOUT_BLOCK)
        ch_sum = ch_sum + v.sum(-1).to(f64).sum(dim=(0, 2))
        if n_ch == 2:
            xb = v.permute(0, 2, 1, 3).reshape(rows * nb, 2, DROPOUT_BLOCK)
            g = torch.bmm(xb, xb.transpose(1, 2)).to(f64)  # (rows * nb, 2, 2)
            bsq = torch.diagonal(g, dim1=1, dim2=2).reshape(rows, nb, 2).permute(0, 2, 1)
            cross = cross + g[:, 0, 1].sum()
        else:
            bsq = torch.linalg.vector_norm(v, dim=-1).to(f64).square()  # (rows, channels, nb)
        ch_sq = ch_sq + bsq.sum(dim=(0, 2))
        energy = bsq.sum(dim=(0, 1))
    vals = [mn.to(f64).reshape(1), mx.to(f64).reshape(1), ch_sum, ch_sq]
    if cross is not None:
        vals.append(cross.reshape(1))
    if energy is not None:
        vals.append(energy)
    first = torch.cat(vals).cpu()  # the one sync on the fast path
    if not bool(torch.isfinite(first).all()):
        return None
    first = first.tolist()
    scale = 1.0 / fs if fs else 1.0
    lo, hi = first[0] * scale, first[1] * scale
    sums, sqs = first[2: 2 + n_ch], first[2 + n_ch: 2 + 2 * n_ch]
    i = 2 + 2 * n_ch
    out = [0.0, max(-lo, hi), math.fsum(sums) * scale, math.sqrt(math.fsum(sqs)) * scale]
    if not has_axes:
        return out
    out += [math.sqrt(q) * scale for q in sqs]
    if n_ch == 2:
        out.append(first[i] * scale * scale)
        i += 1
    if n > 1 and kind == "pcm":
        d = wc[..., 1:] - wc[..., :-1]
        dmn, dmx = torch.aminmax(d)
        out.append(max(-float(dmn), float(dmx)) * scale)
    if nb:
        block_energy = first[i: i + nb]
        if min(block_energy) > 0:
            out += block_energy  # every block has signal: only "> 0" is read
        else:  # a silent-looking block (or underflow): the exact peaks decide
            bp = wc[..., :head].abs().reshape(rows, n_ch, nb, DROPOUT_BLOCK).amax(dim=(0, 1, 3))
            out += [p * scale for p in bp.to(f64).tolist()]
    if seams:
        out += _torch_seam_ratios(wc, seams, fs).double().tolist()
    return out


def _torch_masked(x, kind, layout, sample_rate, seams) -> StageStats:
    """The statistics of data holding NaN/Inf: counted, then masked to zero and excluded."""
    import torch

    t = x.detach()
    dtype_name = str(t.dtype).replace("torch.", "")
    shape = tuple(int(n) for n in t.shape)
    fs = _full_scale(dtype_name, kind)
    zero = torch.zeros((), dtype=torch.float64, device=t.device)
    if t.numel() == 0:
        return StageStats(shape, dtype_name, str(t.device), 0, 0, fs, 0.0, 0.0, 0.0, 0,
                          notes=("empty: no values",))
    if t.is_floating_point():
        finite = torch.isfinite(t)
        nonfinite = (t.numel() - finite.sum()).to(torch.float64)
        t = torch.where(finite, t, torch.zeros((), dtype=t.dtype, device=t.device))
    else:
        nonfinite = zero
    # float16/bfloat16/int: reduce in float32 on the device (sums of squares overflow float16).
    w = t if t.dtype in (torch.float32, torch.float64) else t.to(torch.float32)
    if fs:
        w = w / fs
    mn, mx = torch.aminmax(w)
    vals = [nonfinite, torch.maximum(-mn, mx).double(), w.sum(dtype=torch.float64),
            torch.linalg.vector_norm(w).double()]
    integral = None
    axes = _axes(shape, layout) if kind in ("audio", "pcm") else None
    n_ch = 0
    if axes is not None:
        ch_ax, time_ax = axes
        n_ch = shape[ch_ax]
        # wc is (rows, channels, frames) from here on.
        wc = w.transpose(-1, -2) if layout == "channels_last" else w
        wc = wc.reshape(-1, n_ch, wc.shape[-1])
        vals.append(torch.linalg.vector_norm(wc, dim=(0, 2)).double())  # (C,)
        if n_ch == 2:
            vals.append((wc[:, 0] * wc[:, 1]).sum(dtype=torch.float64).reshape(1))
        n = wc.shape[-1]
        if n > 1 and kind == "pcm":
            vals.append((wc[..., 1:] - wc[..., :-1]).abs().amax().double().reshape(1))
        nb = n // DROPOUT_BLOCK
        if nb:
            bp = wc[..., : nb * DROPOUT_BLOCK].abs().reshape(wc.shape[0], n_ch, nb, DROPOUT_BLOCK)
            vals.append(bp.amax(dim=(0, 1, 3)).double())  # (nb,) block peaks
        if seams:
            vals.append(_torch_seam_ratios(wc, seams).double())
    packed = torch.cat([v.reshape(-1) for v in vals]).cpu().tolist()  # the one sync
    if kind == "audio" and t.is_floating_point() and packed[1] >= PCM_SCALE_HINT:
        # Only on the failing path (values at PCM scale): are they whole numbers?
        integral = bool((w == torch.round(w)).all())
    return _unpack(packed, shape, dtype_name, str(x.device), t.numel(),
                   x.element_size() * x.numel(), fs, integral, n_ch, axes is not None,
                   shape, layout, sample_rate, seams, kind)


def _torch_seam_ratios(wc, seams, fs=None):
    """(ratio, seam) pairs; windows of integer data are scaled to full-scale units first."""
    import torch

    n = wc.shape[-1]
    out = []
    for s in seams:
        if not (SEAM_WINDOW < s < n - SEAM_WINDOW):
            continue
        seg = wc[..., s - SEAM_WINDOW: s + SEAM_WINDOW]
        if fs:
            seg = seg / fs
        d = (seg[..., 1:] - seg[..., :-1]).abs()
        jump = d[..., SEAM_WINDOW - 1]
        typical = torch.cat([d[..., : SEAM_WINDOW - 1], d[..., SEAM_WINDOW:]], dim=-1).mean(-1)
        out.append(torch.stack([(jump / typical.clamp_min(1e-9)).amax(),
                                torch.tensor(float(s), dtype=jump.dtype, device=jump.device)]))
    if not out:
        return torch.zeros(0, device=wc.device)
    return torch.stack(out).reshape(-1)


# -- numpy ------------------------------------------------------------------------------------
def _numpy_stats(a: np.ndarray, kind, layout, sample_rate, seams) -> StageStats:
    dtype_name = str(a.dtype)
    shape = tuple(int(n) for n in a.shape)
    fs = _full_scale(dtype_name, kind)
    if a.size == 0:
        return StageStats(shape, dtype_name, "cpu", 0, 0, fs, 0.0, 0.0, 0.0, 0,
                          notes=("empty: no values",))
    nonfinite = 0
    t = a
    if a.dtype.kind == "f":
        finite = np.isfinite(a)
        nonfinite = int(a.size - np.count_nonzero(finite))
        if nonfinite:
            t = np.where(finite, a, 0)
    w = t if t.dtype in (np.float32, np.float64) else t.astype(np.float32)
    if fs:
        w = w / fs
    vals: list[float] = [nonfinite, float(np.abs(w).max()), float(w.sum(dtype=np.float64)),
                         float(np.sqrt(np.sum(np.square(w, dtype=np.float64))))]
    integral = None
    if kind == "audio" and a.dtype.kind == "f" and vals[1] >= PCM_SCALE_HINT:
        integral = bool(np.all(w == np.round(w)))
    axes = _axes(shape, layout) if kind in ("audio", "pcm") else None
    n_ch = 0
    if axes is not None:
        ch_ax, time_ax = axes
        n_ch = shape[ch_ax]
        wc = np.moveaxis(w, (ch_ax, time_ax), (-2, -1)).reshape(-1, n_ch, w.shape[time_ax])
        vals += list(np.sqrt(np.sum(np.square(wc, dtype=np.float64), axis=(0, 2))))
        if n_ch == 2:
            vals.append(float(np.sum(wc[:, 0].astype(np.float64) * wc[:, 1])))
        n = wc.shape[-1]
        if n > 1 and kind == "pcm":
            vals.append(float(np.abs(np.diff(wc, axis=-1)).max()))
        nb = n // DROPOUT_BLOCK
        if nb:
            bp = np.abs(wc[..., : nb * DROPOUT_BLOCK]).reshape(wc.shape[0], n_ch, nb, DROPOUT_BLOCK)
            vals += list(bp.max(axis=(0, 1, 3)))
        for s in seams:
            if not (SEAM_WINDOW < s < n - SEAM_WINDOW):
                continue
            d = np.abs(np.diff(wc[..., s - SEAM_WINDOW: s + SEAM_WINDOW], axis=-1))
            jump = d[..., SEAM_WINDOW - 1]
            typical = np.concatenate([d[..., : SEAM_WINDOW - 1], d[..., SEAM_WINDOW:]], -1).mean(-1)
            vals += [float((jump / np.maximum(typical, 1e-9)).max()), float(s)]
    return _unpack([float(v) for v in vals], shape, dtype_name, "cpu", a.size, a.nbytes, fs,
                   integral, n_ch, axes is not None, shape, layout, sample_rate, seams, kind)


# -- shared -----------------------------------------------------------------------------------
def _unpack(v, shape, dtype_name, device, numel, nbytes, fs, integral, n_ch, has_axes,
            _shape, layout, sample_rate, seams, kind) -> StageStats:
    nonfinite, peak, s1, norm = int(v[0]), v[1], v[2], v[3]
    i = 4
    finite_n = numel - nonfinite
    notes: list[str] = []
    if finite_n == 0:
        notes.append("no finite values: peak, RMS and DC are over nothing")
        rms = dc = 0.0
    else:
        rms, dc = norm / math.sqrt(finite_n), s1 / finite_n
    kw: dict[str, Any] = {}
    if has_axes:
        time_len = _shape[-1] if layout == "channels_first" else _shape[-2]
        rows = numel // max(time_len, 1) // max(n_ch, 1)
        ch_norm = v[i: i + n_ch]
        i += n_ch
        kw["channel_rms"] = tuple(c / math.sqrt(max(rows * time_len, 1)) for c in ch_norm)
        if n_ch == 2:
            cross = v[i]
            i += 1
            den = ch_norm[0] * ch_norm[1]
            kw["lr_correlation"] = cross / den if den > 0 else None
        if time_len > 1 and kind == "pcm":
            kw["max_step"] = v[i]
            i += 1
        nb = time_len // DROPOUT_BLOCK
        if nb:
            block_s = DROPOUT_BLOCK / (sample_rate or 44100)
            kw["longest_zero_run_s"] = _longest_interior_zero_run(v[i: i + nb]) * block_s
            edges = edge_zero_blocks(v[i: i + nb])
            if edges is not None:
                kw["lead_zero_s"], kw["trail_zero_s"] = edges[0] * block_s, edges[1] * block_s
            if not sample_rate:
                notes.append("dropout run length assumes 44100 Hz (no sample rate declared)")
            i += nb
        rest = v[i:]
        if seams and rest:
            ratios = rest[0::2]
            k = max(range(len(ratios)), key=lambda j: ratios[j])
            kw["seam_ratio"], kw["seam_worst"] = ratios[k], int(rest[1::2][k])
    return StageStats(shape, dtype_name, device, numel, nbytes, fs, peak, rms, dc, nonfinite,
                      integral=integral, notes=tuple(notes), **kw)


def _longest_interior_zero_run(block_peaks: Sequence[float]) -> int:
    """Longest run of all-zero blocks with a non-zero block on both sides."""
    nz = [i for i, p in enumerate(block_peaks) if p > 0]
    if len(nz) < 2:
        return 0
    return max((b - a - 1 for a, b in zip(nz, nz[1:])), default=0)
