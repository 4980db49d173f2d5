"""The one STFT of the harness: power spectra of the mono mix in chunks, a log-frequency
spectrogram for display, and the spectral metrics the content checks read.

Conventions (every function here):

* Analysis is on the mono mix (mean of the channels, float64), Hann window, frames centred on
  multiples of ``hop`` (the signal is zero-padded by ``n_fft // 2`` at both ends).
* Power is scaled so that a full-scale sine centred on an FFT bin reads 0 dB in that bin
  (``|X|^2 / (sum(w) / 2)^2``): "dB re full scale". Levels are floored at :data:`FLOOR_DB`.
* Long audio is processed :data:`CHUNK_FRAMES` STFT frames at a time, so memory is bounded by
  the chunk (a few MB), not by the file; only per-frame results (or pooled columns) are kept.

The metrics come from one STFT per file, :class:`SpectralFrames` (:func:`spectral_frames`:
2048-point frames every 1024 samples, power averaged over the channels, float32), which the
song-level checks read too: :func:`frame_flatness` and :func:`frames_average_spectrum` reduce
it; :func:`spectral_flatness` and :func:`average_spectrum` are the same reductions of a
freshly computed STFT of any size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import scipy.fft
import scipy.sparse
from scipy.ndimage import median_filter

#: Lowest level reported, dB re full scale (-120 dB is below the 24-bit noise floor per band).
FLOOR_DB = -120.0
_FLOOR_POWER = 10.0 ** (FLOOR_DB / 10.0)
#: STFT frames per chunk, for 2048-point frames: 256 frames of 2048 points are 4 MiB of
#: float64. Longer frames get proportionally fewer (:func:`chunk_frames`), so a chunk holds the
#: same number of samples whatever ``n_fft``.
CHUNK_FRAMES = 256


def chunk_frames(n_fft: int) -> int:
    """STFT frames per chunk for ``n_fft``-point frames: :data:`CHUNK_FRAMES` x 2048 samples."""
    return max(1, CHUNK_FRAMES * 2048 // n_fft)
#: Power added before logs in flatness so digital silence has a defined (zero) flatness.
_TINY = 1e-20


def mono_mix(samples: np.ndarray) -> np.ndarray:
    """(channels, frames) or (frames,) -> float64 mean of the channels, shape (frames,)."""
    x = np.asarray(samples)
    if x.ndim == 1:
        return x.astype(np.float64, copy=False)
    if x.ndim != 2:
        raise ValueError(f"expected (channels, frames) samples, got shape {x.shape}")
    if x.shape[0] == 1:
        return x[0].astype(np.float64, copy=False)
    return x.mean(axis=0, dtype=np.float64)


def stft_power_chunks(
    mono: np.ndarray, n_fft: int = 2048, hop: int | None = None, *, center: bool = True,
    dtype: type = np.float64,
) -> Iterator[tuple[int, np.ndarray]]:
    """``mono`` is (frames,) or (channels, frames) (mixed to mono per chunk). Yield
    ``(first_frame_index, power)`` with power shaped (n_fft//2 + 1, k) for k <=
    :func:`chunk_frames` consecutive frames, scaled to dB-re-full-scale power. Each yielded
    array is new (the caller may modify it in place).

    ``center=True`` (display): frame ``j`` is centred on sample ``j * hop`` over a zero-padded
    signal, ``1 + len(mono) // hop`` frames. ``center=False`` (metrics): only frames wholly
    inside the signal, starting at ``j * hop``; the padded edge frames would add the
    broadband splatter of the signal's abrupt start and end (measured -105 dB re the passband
    of a lowpassed noise, enough to hide a filter's stopband). ``dtype`` is the precision of
    the transform (float32 halves the cost; see :func:`spectral_frames` for its error).
    """
    yield from _power_chunks(mono, n_fft, hop, center, dtype, mix=True)


def channel_power_chunks(
    samples: np.ndarray, n_fft: int = 2048, hop: int | None = None, *, center: bool = False,
    dtype: type = np.float64,
) -> Iterator[tuple[int, np.ndarray]]:
    """Like :func:`stft_power_chunks` but the power is averaged over the channels instead of
    taken of the mono mix, and uncentred by default: the metrics use this, so a file whose
    channels cancel in the mix
    (one the negative of the other) is still measured on what each speaker plays."""
    yield from _power_chunks(samples, n_fft, hop, center, dtype, mix=False)


def _power_chunks(samples: np.ndarray, n_fft: int, hop: int | None, center: bool, dtype: type,
                  mix: bool) -> Iterator[tuple[int, np.ndarray]]:
    """The STFT of :func:`stft_power_chunks` (``mix``: of the mono mix) and of
    :func:`channel_power_chunks` (power averaged over the channels): every channel of a chunk
    in one batched FFT."""
    if n_fft < 16 or n_fft & (n_fft - 1):
        raise ValueError(f"n_fft must be a power of two >= 16, got {n_fft}")
    hop = hop or n_fft // 4
    if hop <= 0:
        raise ValueError(f"hop must be a positive number of samples, got {hop}")
    x = np.asarray(samples)
    if x.ndim == 1:
        x = x[None, :]
    n_ch, n = x.shape
    rows = 1 if mix else n_ch
    half = n_fft // 2 if center else 0
    n_frames = 1 + n // hop if center else (1 + (n - n_fft) // hop if n >= n_fft else 0)
    window = (np.hanning(n_fft + 1)[:-1]).astype(dtype)  # periodic Hann
    scale = dtype(1.0 / (np.hanning(n_fft + 1)[:-1].sum() / 2.0) ** 2)
    step = chunk_frames(n_fft)
    for j0 in range(0, n_frames, step):
        j1 = min(j0 + step, n_frames)
        a = j0 * hop - half
        b = (j1 - 1) * hop - half + n_fft
        lo, hi = max(a, 0), min(b, n)
        if lo == a and hi == b and not mix and x.dtype == dtype:
            seg = x[:, a:b]  # wholly inside and already in the transform's precision: no copy
        else:
            seg = np.zeros((rows, b - a), dtype=dtype)
            if hi > lo:
                # (channels, k) input is mixed here, chunk by chunk: no full-length copy
                seg[:, lo - a : hi - a] = (x[:, lo:hi].mean(axis=0, dtype=np.float64) if mix
                                           else x[:, lo:hi])
        frames = np.lib.stride_tricks.sliding_window_view(seg, n_fft, axis=1)[:, ::hop]
        spec = scipy.fft.rfft(frames * window, axis=-1, overwrite_x=True)
        p = spec.real**2
        p += spec.imag**2
        del spec
        if rows > 1:
            p = p.sum(axis=0)
            p *= scale / rows
        else:
            p = p[0]
            p *= scale
        yield j0, p.T


#: The file-level STFT (:func:`spectral_frames`): 2048-point Hann frames (42.7 ms at 48 kHz)
#: every 1024 samples (50 % overlap, the Welch average's usual step).
FRAME_N_FFT = 2048
FRAME_HOP = 1024


@dataclass(frozen=True, eq=False)
class SpectralFrames:
    """The one STFT of a file, shared by every spectral metric and the song-level checks.

    ``power`` is (n_fft // 2 + 1, T), float32 (float64 for float64 samples): per frame and bin
    the power averaged over the
    channels (not of the mono mix, which cancels for opposite-phase channels), scaled so that a
    full-scale sine centred on a bin reads 1.0 (0 dB re full scale), not floored (digital
    silence is 0). Frame ``j`` covers samples ``j * hop .. j * hop + n_fft`` (uncentred, only
    frames wholly inside the file: T = 0 for a file shorter than ``n_fft``). The array is the
    transposed view of a frame-major (T, F) buffer: a frame, ``power[:, j]``, is contiguous.
    Memory: 4 * (n_fft // 2 + 1) bytes per frame, 192 kB per second at 48 kHz (a 3-minute song
    35 MB; half the size of the float32 stereo samples themselves).
    """

    power: np.ndarray
    sample_rate: int
    n_fft: int = FRAME_N_FFT
    hop: int = FRAME_HOP

    @property
    def frames(self) -> int:
        return int(self.power.shape[1])

    @property
    def freqs_hz(self) -> np.ndarray:
        """(F,) bin frequencies, Hz: ``k * sample_rate / n_fft``."""
        return np.arange(self.n_fft // 2 + 1) * (self.sample_rate / self.n_fft)

    @property
    def times_s(self) -> np.ndarray:
        """(T,) frame centres, seconds: ``(j * hop + n_fft / 2) / sample_rate``."""
        return (np.arange(self.frames) * self.hop + self.n_fft / 2.0) / self.sample_rate

    def magnitude(self) -> np.ndarray:
        """(F, T) float32 amplitude (square root of ``power``), a new array."""
        return np.sqrt(self.power)

    def db(self) -> np.ndarray:
        """(F, T) float32 power in dB re full scale, floored at :data:`FLOOR_DB`, a new array."""
        return _to_db(self.power).astype(np.float32, copy=False)

    def onset_envelope(self) -> np.ndarray:
        """(T,) float32 spectral flux: the mean over bins of the rise in dB (floored at
        :data:`FLOOR_DB`, clipped at 0 below) from frame ``j - 1`` to frame ``j``; frame 0 is
        0. The onset strength of Bello et al. (2005), on the linear-frequency dB spectrum."""
        out = np.zeros(self.frames, dtype=np.float32)
        prev = None
        for j0 in range(0, self.frames, _REDUCE_FRAMES):
            d = _to_db(self.power[:, j0 : j0 + _REDUCE_FRAMES]).astype(np.float32, copy=False)
            full = d if prev is None else np.concatenate([prev, d], axis=1)
            rise = np.maximum(np.diff(full, axis=1), 0.0).mean(axis=0)
            out[j0 + (prev is None) : j0 + d.shape[1]] = rise
            prev = d[:, -1:]
        return out


#: Frames reduced at a time by the reductions of :class:`SpectralFrames` (bounds temporaries).
_REDUCE_FRAMES = 2048


def spectral_frames(samples: np.ndarray, sample_rate: int, *, n_fft: int = FRAME_N_FFT,
                    hop: int = FRAME_HOP) -> SpectralFrames:
    """The STFT of a (channels, frames) array as :class:`SpectralFrames`, in float32 chunks.

    The transform runs in float32 unless the samples are float64 (then in float64). Precision:
    float32 frames and FFT give each bin's power to a relative error of about 1e-6 of the
    frame's largest bin (tests/metrics/test_fast_path.py bounds it against a float64
    transform), far below the :data:`FLOOR_DB` range the metrics read."""
    x = np.asarray(samples)
    x = x[None, :] if x.ndim == 1 else x
    if x.ndim != 2:
        raise ValueError(f"expected (channels, frames) samples, got shape {x.shape}")
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    n = x.shape[1]
    total = 1 + (n - n_fft) // hop if n >= n_fft else 0
    buf = np.empty((total, n_fft // 2 + 1), dtype=dtype)
    for j0, p in channel_power_chunks(x, n_fft, hop, dtype=dtype):
        buf[j0 : j0 + p.shape[1]] = p.T
    return SpectralFrames(buf.T, int(sample_rate), n_fft, hop)


def n_stft_frames(n_samples: int, hop: int) -> int:
    return 1 + n_samples // hop


@dataclass(frozen=True)
class LogSpectrogram:
    """A display spectrogram. ``db`` is (F, T) float32 power in dB re full scale, floored at
    :data:`FLOOR_DB`; ``freqs_hz`` (F,) are log-spaced band centres, ``times_s`` (T,) column
    centres in seconds. ``hop`` is the STFT hop and ``pool`` the number of STFT frames merged
    (max) into each column."""

    times_s: np.ndarray
    freqs_hz: np.ndarray
    db: np.ndarray
    sample_rate: int
    n_fft: int
    hop: int
    pool: int


def log_band_matrix(sample_rate: int, n_fft: int, n_bins: int, fmin_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(centres (F,), weights (F, n_fft//2+1)): each log-spaced band is the mean power of the
    FFT bins inside it; a band narrower than the bin spacing linearly interpolates the two
    nearest bins, so low bands are smooth rather than empty."""
    nyq = sample_rate / 2.0
    if not 0 < fmin_hz < nyq:
        raise ValueError(f"fmin_hz must be in (0, {nyq:g}) Hz for {sample_rate} Hz audio, got {fmin_hz}")
    centres = np.geomspace(fmin_hz, nyq, n_bins)
    ratio = (nyq / fmin_hz) ** (0.5 / max(n_bins - 1, 1))
    lo, hi = centres / ratio, centres * ratio
    bin_hz = sample_rate / n_fft
    fft_f = np.arange(n_fft // 2 + 1) * bin_hz
    w = ((fft_f[None, :] >= lo[:, None]) & (fft_f[None, :] < hi[:, None])).astype(np.float64)
    counts = w.sum(axis=1)
    for i in np.flatnonzero(counts == 0):
        pos = centres[i] / bin_hz
        k = min(int(pos), n_fft // 2 - 1)
        frac = pos - k
        w[i, k], w[i, k + 1] = 1.0 - frac, frac
    w /= w.sum(axis=1, keepdims=True)
    return centres, w


def log_spectrogram(
    samples: np.ndarray,
    sample_rate: int,
    *,
    n_bins: int = 256,
    fmin_hz: float = 20.0,
    n_fft: int = 2048,
    hop: int | None = None,
    max_columns: int | None = None,
) -> LogSpectrogram:
    """Log-frequency power spectrogram of the mono mix, computed in chunks.

    ``max_columns`` caps the number of time columns: consecutive STFT frames are pooled by
    their maximum (a click stays visible in a thumbnail), ``pool = ceil(T / max_columns)``.
    """
    hop = hop or n_fft // 4
    mono = np.asarray(samples)
    if mono.ndim not in (1, 2):
        raise ValueError(f"expected (channels, frames) samples, got shape {mono.shape}")
    centres, w = log_band_matrix(sample_rate, n_fft, n_bins, fmin_hz)
    w = scipy.sparse.csr_matrix(w)  # about one non-zero per FFT bin: 200x fewer products
    total = n_stft_frames(mono.shape[-1], hop)
    pool = 1 if not max_columns else max(1, math.ceil(total / max_columns))
    n_cols = math.ceil(total / pool)
    out = np.empty((n_bins, n_cols), dtype=np.float32)
    carry: np.ndarray | None = None  # frames left over from a chunk that did not fill a column
    col = 0
    for _, p in stft_power_chunks(mono, n_fft, hop):
        bands = np.asarray(w @ p)
        if carry is not None:
            bands = np.concatenate([carry, bands], axis=1)
        full = (bands.shape[1] // pool) * pool
        if full:
            pooled = bands[:, :full].reshape(n_bins, -1, pool).max(axis=2)
            out[:, col : col + pooled.shape[1]] = _to_db(pooled)
            col += pooled.shape[1]
        carry = bands[:, full:] if full < bands.shape[1] else None
    if carry is not None:
        out[:, col] = _to_db(carry.max(axis=1))
        col += 1
    times = (np.arange(n_cols) * pool + (pool - 1) / 2.0) * hop / sample_rate
    return LogSpectrogram(times, centres, out, int(sample_rate), n_fft, hop, pool)


def _to_db(power: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, _FLOOR_POWER))


# -- metrics ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameFlatness:
    """Per-frame spectral flatness summary. ``median`` over the frames that carry signal
    (power above ``FLOOR_DB``); None when no frame does, either because the file is silent or
    because it is shorter than one ``n_fft``-sample frame (``frames`` == 0)."""

    median: float | None
    active_frames: int
    frames: int = 0
    n_fft: int = 2048


def spectral_flatness(samples: np.ndarray, sample_rate: int, *, n_fft: int = 2048,
                      hop: int | None = None, fmin_hz: float = 50.0) -> FrameFlatness:
    """:func:`frame_flatness` of a fresh ``n_fft``-point STFT (hop ``n_fft // 4`` unless given)."""
    frames = spectral_frames(samples, sample_rate, n_fft=n_fft, hop=hop or n_fft // 4)
    return frame_flatness(frames, fmin_hz=fmin_hz)


def frame_flatness(frames: SpectralFrames, *, fmin_hz: float = 50.0) -> FrameFlatness:
    """Wiener entropy of each frame's power spectrum (geometric / arithmetic mean over the bins
    from ``fmin_hz`` to Nyquist; power averaged over the channels), median over frames with
    signal. 0 = a pure tone; white
    noise gives ``exp(-euler_gamma)`` = 0.5615 (each periodogram bin is exponentially
    distributed, and E[log P] = log E[P] - gamma), the same convention as librosa. Logs and
    means in float32 (relative error ~1e-6 of the flatness; the thresholds are 0.1 and 0.3)."""
    k0 = max(1, int(math.ceil(fmin_hz * frames.n_fft / frames.sample_rate)))
    vals = []
    for j0 in range(0, frames.frames, _REDUCE_FRAMES):
        p = frames.power[k0:, j0 : j0 + _REDUCE_FRAMES]
        am = p.mean(axis=0)
        lg = p + np.float32(_TINY)
        np.log(lg, out=lg)
        gm = np.exp(lg.mean(axis=0))
        ok = am > _FLOOR_POWER
        vals.append(gm[ok] / am[ok])
    v = np.concatenate(vals) if vals else np.empty(0)
    return FrameFlatness(float(np.median(v)) if v.size else None, int(v.size), frames.frames,
                         frames.n_fft)


@dataclass(frozen=True)
class AverageSpectrum:
    """Long-term average power spectrum (mean over all STFT frames), dB re full scale.
    ``frames`` is the number of ``n_fft``-sample frames averaged: 0 when the file is shorter
    than one frame (the spectrum is then at the floor everywhere, like silence)."""

    freqs_hz: np.ndarray
    db: np.ndarray
    sample_rate: int
    frames: int = 0
    n_fft: int = 4096


def average_spectrum(samples: np.ndarray, sample_rate: int, *, n_fft: int = 4096,
                     hop: int | None = None) -> AverageSpectrum:
    """:func:`frames_average_spectrum` of a fresh ``n_fft``-point STFT (hop ``n_fft // 2``
    unless given)."""
    frames = spectral_frames(samples, sample_rate, n_fft=n_fft, hop=hop or n_fft // 2)
    return frames_average_spectrum(frames)


def frames_average_spectrum(frames: SpectralFrames) -> AverageSpectrum:
    """Welch-style long-term average spectrum: the power averaged over frames (float64 sums)
    and channels."""
    acc = np.zeros(frames.n_fft // 2 + 1)
    for j0 in range(0, frames.frames, _REDUCE_FRAMES):
        acc += frames.power[:, j0 : j0 + _REDUCE_FRAMES].sum(axis=1, dtype=np.float64)
    return AverageSpectrum(frames.freqs_hz, _to_db(acc / max(frames.frames, 1)),
                           frames.sample_rate, frames.frames, frames.n_fft)


def bandwidth_hz(spectrum: AverageSpectrum, *, drop_db: float = 60.0,
                 smooth_hz: float = 300.0, fmin_hz: float = 20.0) -> float | None:
    """Highest frequency at which the long-term spectrum is within ``drop_db`` of its maximum.

    The spectrum is first median-filtered over ``smooth_hz`` (in dB), which removes any peak
    narrower than half that width: one loud tone (or its harmonics) sets neither the maximum
    nor the edge, the broadband content does. None when the smoothed spectrum is at the floor
    everywhere (silence)."""
    f, d = spectrum.freqs_hz, spectrum.db
    bin_hz = f[1] - f[0]
    width = max(3, int(round(smooth_hz / bin_hz)) | 1)
    sm = median_filter(d, size=width, mode="nearest")
    sel = f >= fmin_hz
    ref = sm[sel].max()
    if ref <= FLOOR_DB + 1e-9:
        return None
    above = np.flatnonzero(sel & (sm >= ref - drop_db))
    return float(f[above[-1]])


def energy_above(spectrum: AverageSpectrum, freq_hz: float) -> float | None:
    """Fraction (0..1) of the long-term power at or above ``freq_hz``; None for silence."""
    p = np.where(spectrum.db > FLOOR_DB, 10.0 ** (spectrum.db / 10.0), 0.0)
    total = p.sum()
    return float(p[spectrum.freqs_hz >= freq_hz].sum() / total) if total > 0 else None


def peak_fraction(spectrum: AverageSpectrum, half_width_bins: int = 3) -> float | None:
    """Fraction (0..1) of the long-term power in the strongest spectral line (its bin and
    ``half_width_bins`` either side, the Hann main lobe): about 1 for a pure tone, 8/pi^2 =
    0.81 for a square wave's fundamental, small for music. None for silence."""
    p = np.where(spectrum.db > FLOOR_DB, 10.0 ** (spectrum.db / 10.0), 0.0)
    total = p.sum()
    if total <= 0:
        return None
    k = int(np.argmax(p))
    return float(p[max(0, k - half_width_bins) : k + half_width_bins + 1].sum() / total)


def edge_cliff_db(spectrum: AverageSpectrum, edge_hz: float, *, span_hz: float = 1500.0,
                  smooth_hz: float = 300.0) -> float | None:
    """How abruptly the spectrum ends at ``edge_hz``: median smoothed level in the ``span_hz``
    below the edge minus the median in the ``span_hz`` above it, dB. A natural roll-off
    measures a few dB (real music: 1.3 to 9 dB), a lowpass, lossy codec or resampler edge tens
    of dB. None when the edge is at Nyquist (nothing above it to compare)."""
    f = spectrum.freqs_hz
    bin_hz = f[1] - f[0]
    sm = median_filter(spectrum.db, size=max(3, int(round(smooth_hz / bin_hz)) | 1), mode="nearest")
    lo = sm[(f >= edge_hz - span_hz) & (f < edge_hz)]
    hi = sm[(f > edge_hz) & (f <= edge_hz + span_hz)]
    if lo.size == 0 or hi.size == 0:
        return None
    return float(np.median(lo) - np.median(hi))
