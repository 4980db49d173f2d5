"""Loudness to ITU-R BS.1770-4 / EBU R128: integrated, momentary, short-term, LRA, true peak.

Pure functions on a (channels, frames) array and its sample rate. One pass over the signal in
chunks of :data:`CHUNK` frames keeps memory bounded for long files:

* K-weighting (the BS.1770 pre-filter shelf and the RLB high-pass), derived for any sample rate
  by the bilinear transform of the analog prototypes (the parametrisation of libebur128 and
  pyloudnorm), applied per channel with ``scipy.signal.sosfilt`` in float64, filter state carried
  across chunks.
* The channel-weighted sum of squared K-weighted samples is integrated with a float64 running
  sum, so the mean power of any window is a difference of two cumulative sums.
* Momentary (400 ms) and short-term (3 s) maxima are taken over *every* sample position of the
  sliding window (an exact sliding maximum, finer than the 10 Hz minimum of EBU Tech 3341).
* Gating blocks (400 ms every 100 ms, BS.1770-4) give the integrated loudness (absolute gate
  -70 LUFS, relative gate -10 LU); short-term blocks every 100 ms give the loudness range
  (EBU Tech 3342: -70 LUFS absolute, -20 LU relative gate, 10th to 95th percentile).
* True peak (BS.1770-4 Annex 2): 4x polyphase FIR interpolation. A block of samples whose
  interpolated values provably cannot exceed the running maximum (its neighbourhood peak times
  the largest L1 norm of the filter's phases) is skipped, so the answer is exactly the 4x
  oversampled maximum but only the loudest blocks are oversampled.

Loudness values are LUFS (equal to LKFS), ranges LU, peaks dBTP (dB re full scale 1.0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import signal

#: Frames per processing chunk (2**20 frames = 8 MiB of float64 per channel).
CHUNK = 1 << 20
MOMENTARY_S = 0.4
SHORT_TERM_S = 3.0
STEP_S = 0.1
ABS_GATE_LUFS = -70.0
REL_GATE_LU = -10.0
LRA_REL_GATE_LU = -20.0
LRA_PERCENTILES = (0.10, 0.95)
TRUE_PEAK_OVERSAMPLING = 4
#: Offset of the BS.1770 loudness formula: a 0 dBFS 997 Hz sine in one channel reads -3.01 LUFS.
_OFFSET = -0.691

#: Default channel weights by channel count (BS.1770-4 Table 3; LFE excluded with weight 0).
#: 5 channels: L, R, C, Ls, Rs; 6 channels: L, R, C, LFE, Ls, Rs (WAV / SMPTE order).
DEFAULT_WEIGHTS = {
    1: (1.0,),
    2: (1.0, 1.0),
    3: (1.0, 1.0, 1.0),
    5: (1.0, 1.0, 1.0, 1.41, 1.41),
    6: (1.0, 1.0, 1.0, 0.0, 1.41, 1.41),
}


def k_weighting_sos(sample_rate: float) -> np.ndarray:
    """Second-order sections (2, 6) of the K-weighting filter at ``sample_rate`` Hz.

    Stage 1 is the high-shelf pre-filter (+4 dB above ~1.7 kHz, head diffraction), stage 2 the
    RLB high-pass (~38 Hz). Both come from the bilinear transform of the analog prototypes, so
    at 48 kHz they reproduce the coefficients printed in BS.1770-4 Tables 1 and 2.
    """
    fs = float(sample_rate)
    # Pre-filter: high shelf.
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / fs)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    b1 = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    a1 = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    # RLB: second-order high-pass.
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / fs)
    a0 = 1.0 + k / q + k * k
    b2 = [1.0, -2.0, 1.0]
    a2 = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([b1 + a1, b2 + a2], dtype=np.float64)


def default_channel_weights(channels: int) -> tuple[float, ...] | None:
    """BS.1770-4 weights for a common layout, or None when the count is ambiguous."""
    return DEFAULT_WEIGHTS.get(channels)


def _lufs(power: np.ndarray | float) -> np.ndarray | float:
    """Loudness of a weighted mean-square power; -inf for zero power."""
    with np.errstate(divide="ignore"):
        return _OFFSET + 10.0 * np.log10(power)


@dataclass(frozen=True, eq=False)
class LoudnessResult:
    """Every loudness figure of one signal (see the module docstring for the definitions).

    ``momentary`` and ``short_term`` are float64 arrays shaped (n, 2) of
    [t_end_seconds, lufs], one row every 100 ms (windows starting at 0, 0.1, 0.2 ... s). Rows
    whose loudness is below the -70 LUFS absolute gate (including silence, -inf) are omitted, so
    the arrays never hold NaN or infinities; a signal shorter than a window gives an empty
    (0, 2) array. Any figure that is undefined is None and ``notes`` says why.
    """

    sample_rate: int
    channel_weights: tuple[float, ...]
    integrated_lufs: float | None
    momentary_max_lufs: float | None
    short_term_max_lufs: float | None
    lra_lu: float | None
    lra_low_lufs: float | None
    lra_high_lufs: float | None
    true_peak_dbtp: float | None
    true_peak_channels_dbtp: tuple[float | None, ...]
    momentary: np.ndarray
    short_term: np.ndarray
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def plr_db(self) -> float | None:
        """Peak-to-loudness ratio: true peak minus integrated loudness (dB)."""
        if self.true_peak_dbtp is None or self.integrated_lufs is None:
            return None
        return self.true_peak_dbtp - self.integrated_lufs

    def to_metrics(self) -> dict[str, float | None]:
        return {
            "true_peak_dbtp": self.true_peak_dbtp,
            "integrated_lufs": self.integrated_lufs,
            "momentary_max_lufs": self.momentary_max_lufs,
            "short_term_max_lufs": self.short_term_max_lufs,
            "lra_lu": self.lra_lu,
            "plr_db": self.plr_db,
        }

    def series_metrics(self) -> dict[str, list[list[float]]]:
        """The time series as JSON-ready lists of [t_end_seconds, lufs] (``--series``)."""
        return {
            "momentary_series": [[float(t), float(v)] for t, v in self.momentary],
            "short_term_series": [[float(t), float(v)] for t, v in self.short_term],
        }


def _block_ends(n: int, sample_rate: int, window: int) -> np.ndarray:
    """End frames (exclusive) of the windows starting every 100 ms that fit in ``n`` frames."""
    if n < window:
        return np.zeros(0, dtype=np.int64)
    k_max = int(math.floor((n - window) / (STEP_S * sample_rate) + 1e-9))
    starts = np.round(np.arange(k_max + 1) * STEP_S * sample_rate).astype(np.int64)
    ends = starts + window
    return ends[ends <= n]


class _Power:
    """Sliding-window powers of the weighted K-filtered signal from its running sum."""

    def __init__(self, x: np.ndarray, sample_rate: int, weights: np.ndarray):
        n_ch, n = x.shape
        self.wm = int(round(MOMENTARY_S * sample_rate))
        self.ws = int(round(SHORT_TERM_S * sample_rate))
        self.ends_m = _block_ends(n, sample_rate, self.wm)
        self.ends_s = _block_ends(n, sample_rate, self.ws)
        self.pow_m = np.zeros(len(self.ends_m))
        self.pow_s = np.zeros(len(self.ends_s))
        self.max_m = -1.0  # largest sliding-window power; -1 = no window fits
        self.max_s = -1.0
        sos = k_weighting_sos(sample_rate)
        zi = np.zeros((n_ch, 2, 2))
        keep = self.ws  # running-sum history needed for the longest window
        hist = np.zeros(1)  # C[0] = 0: running sum before frame 0
        h0 = 0  # global index of hist[0]
        active = [c for c in range(n_ch) if weights[c] != 0.0]
        for s in range(0, n, CHUNK):
            e = min(s + CHUNK, n)
            z = np.zeros(e - s)
            for c in active:
                y, zi[c] = signal.sosfilt(sos, x[c, s:e].astype(np.float64), zi=zi[c])
                np.multiply(y, y, out=y)
                if weights[c] != 1.0:
                    y *= weights[c]
                z += y
            cum = np.cumsum(z)
            cum += hist[-1]
            cat = np.concatenate([hist, cum])  # C[h0 .. e]
            for w, attr in ((self.wm, "max_m"), (self.ws, "max_s")):
                lo = max(s + 1, w)  # window ends in this chunk with a full window
                if lo <= e:
                    diff = cat[lo - h0 : e + 1 - h0] - cat[lo - w - h0 : e + 1 - w - h0]
                    setattr(self, attr, max(getattr(self, attr), float(diff.max()) / w))
            for ends, w, out in ((self.ends_m, self.wm, self.pow_m), (self.ends_s, self.ws, self.pow_s)):
                sel = (ends > s) & (ends <= e)
                if sel.any():
                    idx = ends[sel]
                    out[sel] = (cat[idx - h0] - cat[idx - w - h0]) / w
            new_h0 = max(0, e - keep)
            hist = cat[new_h0 - h0 :]
            h0 = new_h0
        # Rounding in the running sum can leave a tiny negative power in silence after sound.
        np.maximum(self.pow_m, 0.0, out=self.pow_m)
        np.maximum(self.pow_s, 0.0, out=self.pow_s)


def _integrated(pow_m: np.ndarray) -> tuple[float | None, str | None]:
    """Gated integrated loudness (BS.1770-4 §2.8) of the 400 ms block powers."""
    if len(pow_m) == 0:
        return None, "integrated_lufs: n/a, the signal is shorter than one 400 ms gating block"
    lk = _lufs(pow_m)
    above = pow_m[lk > ABS_GATE_LUFS]
    if len(above) == 0:
        return None, ("integrated_lufs: n/a, no 400 ms block is above the -70 LUFS absolute gate "
                      "(silence or near-silence)")
    rel = _lufs(above.mean()) + REL_GATE_LU
    gated = above[_lufs(above) > rel]
    return float(_lufs(gated.mean())), None


def _lra(pow_s: np.ndarray) -> tuple[float | None, float | None, float | None, str | None]:
    """Loudness range (EBU Tech 3342) of the short-term block powers: (LRA, low, high, note)."""
    if len(pow_s) == 0:
        return None, None, None, "lra_lu: n/a, the signal is shorter than one 3 s short-term block"
    lk = _lufs(pow_s)
    above = pow_s[lk > ABS_GATE_LUFS]
    if len(above) == 0:
        return None, None, None, ("lra_lu: n/a, no 3 s block is above the -70 LUFS absolute gate "
                                  "(silence or near-silence)")
    rel = _lufs(above.mean()) + LRA_REL_GATE_LU
    vals = np.sort(_lufs(above[_lufs(above) > rel]))
    # Nearest rank on (n - 1), as libebur128 and ffmpeg do.
    lo = vals[int(round((len(vals) - 1) * LRA_PERCENTILES[0]))]
    hi = vals[int(round((len(vals) - 1) * LRA_PERCENTILES[1]))]
    return float(hi - lo), float(lo), float(hi), None


def _series(ends: np.ndarray, power: np.ndarray, sample_rate: int) -> np.ndarray:
    lk = _lufs(power)
    keep = lk > ABS_GATE_LUFS
    return np.column_stack([ends[keep] / sample_rate, lk[keep]]).astype(np.float64)


def interpolation_filter(oversampling: int = TRUE_PEAK_OVERSAMPLING) -> np.ndarray:
    """The true-peak interpolator: a Kaiser-windowed (beta 5, symmetric) sinc with 10 zero
    crossings per side at ``oversampling`` times the rate, the design ``resample_poly`` uses.
    Its phase 0 is exactly the identity, so the original samples are kept and only the
    ``oversampling - 1`` in-between phases are computed."""
    half = 10 * oversampling
    k = np.arange(-half, half + 1)
    h = np.sinc(k / oversampling) * signal.windows.kaiser(2 * half + 1, 5.0, sym=True)
    h[k % oversampling == 0] = 0.0
    h[half] = 1.0
    return h


def true_peak(x: np.ndarray, oversampling: int = TRUE_PEAK_OVERSAMPLING,
              block: int = 256, batch: int = 512) -> np.ndarray:
    """Per-channel true peak (linear, >= the sample peak) of a (channels, frames) array by
    ``oversampling``-times polyphase interpolation (BS.1770-4 Annex 2), zero before and after.

    Exact for the filter of :func:`interpolation_filter` (evaluated in float32, 1e-6 dB):
    blocks of ``block`` frames are visited loudest first, ``batch`` at a time, and a block is
    interpolated only while its bound (the largest sample within the filter's reach times the
    largest L1 norm of the filter's phases) exceeds the running maximum. No interpolated value
    of a skipped block can exceed the result.
    """
    h = interpolation_filter(oversampling)
    half = (len(h) - 1) // 2
    gain = max(float(np.abs(h[p::oversampling]).sum()) for p in range(oversampling))
    reach = half // oversampling  # input frames each side that an interpolated value uses
    # kern[j, p - 1]: weight of input frame n - reach + j in the value at time n + p / oversampling.
    kern = np.zeros((2 * reach + 1, oversampling - 1), dtype=np.float32)
    for j in range(2 * reach + 1):
        for p in range(1, oversampling):
            tap = half + oversampling * (reach - j) + p
            if 0 <= tap < len(h):
                kern[j, p - 1] = h[tap]
    pad = reach
    n_ch, n = x.shape
    nb = -(-n // block)
    out = np.zeros(n_ch)
    offs = np.arange(block + 2 * pad) - pad
    for c in range(n_ch):
        xc = x[c]
        bmax = np.zeros(nb)
        step = max(1, CHUNK // block)
        for s in range(0, nb, step):  # block peaks, chunked
            seg = np.abs(xc[s * block : (s + step) * block])
            full = len(seg) // block
            if full:
                bmax[s : s + full] = seg[: full * block].reshape(full, block).max(axis=1)
            if len(seg) % block:
                bmax[s + full] = seg[full * block :].max()
        tp = float(bmax.max()) if nb else 0.0
        if tp == 0.0:
            continue
        near = bmax.copy()  # reach < block: the neighbours cover the filter's reach
        near[1:] = np.maximum(near[1:], bmax[:-1])
        near[:-1] = np.maximum(near[:-1], bmax[1:])
        bound = near * gain
        order = np.argsort(-bound, kind="stable")
        for i in range(0, nb, batch):
            sel = order[i : i + batch]
            sel = sel[bound[sel] > tp]
            if len(sel) == 0:
                break
            idx = sel[:, None] * block + offs[None, :]
            segs = np.take(xc, idx, mode="clip").astype(np.float32)
            segs[(idx < 0) | (idx >= n)] = 0.0
            win = np.lib.stride_tricks.sliding_window_view(segs, 2 * reach + 1, axis=1)
            v = np.abs(win[:, :block].reshape(-1, 2 * reach + 1) @ kern).reshape(len(sel), block, -1)
            v[(sel[:, None] * block + np.arange(block)[None, :]) >= n] = 0.0  # past the end
            tp = max(tp, float(v.max()))
        out[c] = tp
    return out


def _db(v: float) -> float | None:
    return 20.0 * math.log10(v) if v > 0.0 else None


def measure_loudness(samples: np.ndarray, sample_rate: int, *,
                     channel_weights: tuple[float, ...] | list[float] | None = None,
                     with_true_peak: bool = True) -> LoudnessResult:
    """Measure a (channels, frames) float array at ``sample_rate`` Hz (pure; reads only).

    ``channel_weights``: one BS.1770 weight per channel (L/R/C 1.0, surrounds 1.41, LFE 0.0).
    Default: :data:`DEFAULT_WEIGHTS` for 1, 2, 3, 5 and 6 channels; other counts have no
    standard order, so their loudness figures are None with a note (true peak is still given).
    Mono is weighted 1.0 (BS.1770), not as dual mono. ``with_true_peak=False`` skips the 4x
    oversampled true peak (the costliest part; loudness curves do not need it): the true-peak
    figures are then None with a note.
    """
    x = np.asarray(samples)
    if x.ndim != 2:
        raise ValueError(f"expected (channels, frames), got shape {x.shape}; use Audio.from_array")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    n_ch, n = x.shape
    notes: list[str] = []
    empty = np.zeros((0, 2))
    weights = tuple(channel_weights) if channel_weights is not None else default_channel_weights(n_ch)
    if weights is not None and len(weights) != n_ch:
        raise ValueError(f"channel_weights has {len(weights)} entries for {n_ch} channels; "
                         "give one weight per channel (L/R/C 1.0, Ls/Rs 1.41, LFE 0.0)")
    finite = bool(np.isfinite(x).all()) if n else True
    if not finite:
        why = "the signal has NaN or infinite samples (see the finite check)"
        return LoudnessResult(int(sample_rate), weights or (), None, None, None, None, None, None,
                              None, (None,) * n_ch, empty, empty,
                              (f"loudness: n/a, {why}",))
    tp_lin = true_peak(x) if n and with_true_peak else np.zeros(n_ch)
    tp_ch = tuple(_db(float(v)) for v in tp_lin)
    tp = _db(float(tp_lin.max())) if n_ch else None
    if not with_true_peak:
        notes.append("true_peak_dbtp: not measured (with_true_peak=False), nor plr_db")
    elif tp is None:
        notes.append("true_peak_dbtp: n/a, every sample is zero (digital silence)")
    if weights is None:
        notes.append(f"loudness: n/a, no standard BS.1770 channel order for {n_ch} channels; "
                     "pass channel_weights (L/R/C 1.0, Ls/Rs 1.41, LFE 0.0)")
        return LoudnessResult(int(sample_rate), (), None, None, None, None, None, None, tp, tp_ch,
                              empty, empty, tuple(notes))
    pw = _Power(x, int(sample_rate), np.asarray(weights, dtype=np.float64))
    integrated, note = _integrated(pw.pow_m)
    if note:
        notes.append(note)
    lra, lra_lo, lra_hi, note = _lra(pw.pow_s)
    if note:
        notes.append(note)
    m_max = s_max = None
    if pw.max_m < 0:
        notes.append("momentary_max_lufs: n/a, the signal is shorter than 400 ms")
    elif pw.max_m == 0:
        notes.append("momentary_max_lufs: n/a, the K-weighted signal is silent")
    else:
        m_max = float(_lufs(pw.max_m))
    if pw.max_s < 0:
        notes.append("short_term_max_lufs: n/a, the signal is shorter than 3 s")
    elif pw.max_s == 0:
        notes.append("short_term_max_lufs: n/a, the K-weighted signal is silent")
    else:
        s_max = float(_lufs(pw.max_s))
    if integrated is None and tp is not None:
        notes.append("plr_db: n/a, integrated loudness is undefined")
    return LoudnessResult(
        sample_rate=int(sample_rate), channel_weights=tuple(float(w) for w in weights),
        integrated_lufs=integrated, momentary_max_lufs=m_max, short_term_max_lufs=s_max,
        lra_lu=lra, lra_low_lufs=lra_lo, lra_high_lufs=lra_hi,
        true_peak_dbtp=tp, true_peak_channels_dbtp=tp_ch,
        momentary=_series(pw.ends_m, pw.pow_m, sample_rate),
        short_term=_series(pw.ends_s, pw.pow_s, sample_rate),
        notes=tuple(notes),
    )
