"""Intrusive metrics: a degraded signal scored against its reference.

Pure functions on float arrays (1-D mono or ``(channels, frames)``) and a sample rate, plus
:func:`compare`, which prepares a pair once (channel down-mix, rate match, alignment) and decides
which metric applies. A metric that cannot or should not be computed raises
:class:`NotApplicable` from its function; :func:`compare` turns that into ``None`` and a note.

What each metric sees:

- ``snr_db``, ``seg_snr_db``, ``si_sdr_db``, ``lsd_db``: the aligned pair (delay removed, both
  trimmed to the common length), every channel.
- ``stoi`` / ``estoi`` (pystoi, resamples to 10 kHz itself): the aligned pair, mono.
- ``pesq_wb`` / ``pesq_nb`` (ITU-T P.862.2 / P.862.1 MOS-LQO through ``pesq``): the untrimmed
  mono pair at 16 kHz (or 8 kHz for NB on 8 kHz audio); PESQ aligns utterances itself and its
  reference values are computed on untruncated files.
- ``visqol_moslqo`` (visqol-python): the untrimmed mono pair (channels averaged, as ViSQOL does),
  audio mode at 48 kHz for music, speech mode at 16 kHz for speech; ViSQOL aligns itself.

PESQ and STOI are speech metrics and ViSQOL's audio mode is made for music: ``content`` says
which the pair is ("speech" or "music"); left as None, audio at 16 kHz or below counts as speech
and anything else as music, and the note says how to override it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Collection, Literal

import numpy as np

from qa.audio import Audio

Content = Literal["speech", "music"]

#: Metric names of a comparison, in contract order.
METRIC_NAMES = ("delay_samples", "length_delta_samples", "snr_db", "seg_snr_db", "si_sdr_db",
                "lsd_db", "stoi", "estoi", "pesq_wb", "pesq_nb", "visqol_moslqo")

#: A reference whose RMS is below this (-100 dBFS) is silence: no ratio to it means anything.
SILENT_RMS = 1e-5
#: Shortest pair that is compared at all (seconds): one 30 ms segmental-SNR frame and change.
MIN_COMPARE_S = 0.05
#: Default bound of the delay search (seconds). MP3 adds ~25 ms, resamplers a few ms,
#: streaming pipelines up to a few hundred ms.
DEFAULT_MAX_DELAY_S = 1.0
#: The delay is estimated on at most this much audio (seconds), the loudest stretch of the
#: reference, so memory stays bounded on long files.
DELAY_WINDOW_S = 30.0
#: Rates at or below this count as speech when ``content`` is not given (Hz): wide- and
#: narrow-band telephony rates, which music generators do not produce.
SPEECH_MAX_RATE = 16000


class NotApplicable(Exception):
    """A metric that does not apply to this pair; ``reason`` says why (goes into the note)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


# -- alignment ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Alignment:
    """How the degraded signal was lined up with the reference.

    ``delay_samples`` > 0: the degraded signal lags (its first ``delay`` samples were dropped);
    < 0: it leads (the reference's first ``-delay`` samples were dropped).
    ``length_delta_samples`` is deg frames minus ref frames before alignment; ``frames`` the
    common length scored; ``gain`` the factor applied to deg when gain matching was asked for.
    """

    delay_samples: int
    length_delta_samples: int
    frames: int
    gain: float | None = None


def _as2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x[np.newaxis, :] if x.ndim == 1 else x


def _mono(x: np.ndarray) -> np.ndarray:
    x = _as2d(x)
    return x.mean(axis=0, dtype=np.float64) if x.shape[0] > 1 else x[0].astype(np.float64)


def estimate_delay(ref: np.ndarray, deg: np.ndarray, max_lag: int) -> int:
    """Lag (samples) of ``deg`` behind ``ref`` maximising their cross-correlation, searched in
    ``[-max_lag, max_lag]``; multichannel input is averaged first. One FFT of both signals
    (float64), so pass a bounded stretch (:func:`align` uses the loudest 30 s)."""
    r, d = _mono(ref), _mono(deg)
    n = len(r) + len(d)
    nfft = 1 << (n - 1).bit_length()
    cc = np.fft.irfft(np.fft.rfft(d, nfft) * np.conj(np.fft.rfft(r, nfft)), nfft)
    max_lag = int(max(0, max_lag))
    pos = cc[: min(max_lag, len(d) - 1) + 1]            # lags 0..max_lag
    neg = cc[nfft - min(max_lag, len(r) - 1):] if max_lag > 0 else cc[:0]  # lags -max_lag..-1
    lags = np.concatenate([np.arange(-len(neg), 0), np.arange(len(pos))])
    vals = np.concatenate([neg, pos])
    return int(lags[int(np.argmax(vals))])


def _loudest_window(x: np.ndarray, sample_rate: int, seconds: float) -> tuple[int, int]:
    """Start and length of the loudest ``seconds``-long stretch of mono ``x`` (1 s blocks)."""
    w = int(seconds * sample_rate)
    if len(x) <= w:
        return 0, len(x)
    blk = sample_rate
    nb = len(x) // blk
    energy = np.add.reduceat(x[: nb * blk] ** 2, np.arange(0, nb * blk, blk))
    span = max(1, w // blk)
    sums = np.convolve(energy, np.ones(span), "valid")
    return int(np.argmax(sums)) * blk, w


def align(ref: np.ndarray, deg: np.ndarray, sample_rate: int, *,
          max_delay_s: float = DEFAULT_MAX_DELAY_S, gain_match: bool = False,
          ) -> tuple[np.ndarray, np.ndarray, Alignment]:
    """Remove the delay of ``deg`` (cross-correlation within ``max_delay_s``), trim both to the
    common length and optionally scale ``deg`` by the least-squares gain. Returns
    ``(ref_aligned, deg_aligned, Alignment)`` as float64 ``(channels, frames)`` arrays."""
    r, d = _as2d(ref).astype(np.float64), _as2d(deg).astype(np.float64)
    max_lag = int(round(max_delay_s * sample_rate))
    rm, dm = _mono(r), _mono(d)
    start, w = _loudest_window(rm, sample_rate, DELAY_WINDOW_S)
    lo = max(0, start - max_lag)
    delay = estimate_delay(rm[start:start + w], dm[lo:start + w + max_lag], max_lag + (start - lo))
    delay += lo - start
    delay = max(-max_lag, min(max_lag, delay))
    if delay >= 0:
        d = d[:, delay:]
    else:
        r = r[:, -delay:]
    n = min(r.shape[1], d.shape[1])
    r, d = r[:, :n], d[:, :n]
    gain = None
    if gain_match:
        dd = float(np.sum(d * d))
        gain = float(np.sum(r * d)) / dd if dd > 0 else None
        if gain is not None:
            d = d * gain
    return r, d, Alignment(delay, int(_as2d(deg).shape[1] - _as2d(ref).shape[1]), n, gain)


# -- waveform metrics --------------------------------------------------------------------------
def snr_db(ref: np.ndarray, deg: np.ndarray) -> float:
    """10·log10(Σref² / Σ(deg−ref)²) over all samples of an aligned, equal-length pair (dB)."""
    r, d = _as2d(ref).astype(np.float64), _as2d(deg).astype(np.float64)
    sig = float(np.sum(r * r))
    noise = float(np.sum((d - r) ** 2))
    if sig == 0.0:
        raise NotApplicable("the reference is silent")
    if noise == 0.0:
        raise NotApplicable("identical: lossless")
    return 10.0 * math.log10(sig / noise)


def _frames(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    n = 1 + (x.shape[-1] - win) // hop
    return np.lib.stride_tricks.sliding_window_view(x, win, axis=-1)[..., ::hop, :][..., :n, :]


def seg_snr_db(ref: np.ndarray, deg: np.ndarray, sample_rate: int) -> float:
    """Segmental SNR (dB) as in Loizou's ``comp_snr.m`` (Speech Enhancement, 2007): 30 ms Hann
    frames every 7.5 ms, per-frame SNR clamped to [-10, 35] dB, mean over frames and channels.
    Reproduces the published SNRseg 3.991727 of NOIZEUS sp09 / logMMSE."""
    r, d = _as2d(ref).astype(np.float64), _as2d(deg).astype(np.float64)
    win = int(round(30 * sample_rate / 1000))
    hop = win // 4
    n_frames = int(r.shape[1] / hop - win / hop)
    if n_frames < 1:
        raise NotApplicable(f"too short: {r.shape[1]} samples, one 30 ms frame needs {win + hop}")
    w = 0.5 * (1 - np.cos(2 * np.pi * np.arange(1, win + 1) / (win + 1)))
    rf = _frames(r, win, hop)[:, :n_frames] * w
    df = _frames(d, win, hop)[:, :n_frames] * w
    eps = np.finfo(np.float64).eps
    sig = np.sum(rf * rf, axis=-1)
    noise = np.sum((rf - df) ** 2, axis=-1)
    seg = 10 * np.log10(sig / (noise + eps) + eps)
    return float(np.mean(np.clip(seg, -10.0, 35.0)))


def si_sdr_db(ref: np.ndarray, deg: np.ndarray) -> float:
    """Scale-invariant SDR (Le Roux et al. 2019), zero-mean, per channel, averaged (dB)."""
    r, d = _as2d(ref).astype(np.float64), _as2d(deg).astype(np.float64)
    r = r - r.mean(axis=1, keepdims=True)
    d = d - d.mean(axis=1, keepdims=True)
    rr = np.sum(r * r, axis=1)
    if np.any(rr == 0):
        raise NotApplicable("a reference channel is silent (constant)")
    alpha = np.sum(r * d, axis=1) / rr
    target = alpha[:, None] * r
    noise = np.sum((d - target) ** 2, axis=1)
    if np.any(noise == 0):
        raise NotApplicable("identical: lossless")
    return float(np.mean(10 * np.log10(np.sum(target * target, axis=1) / noise)))


def lsd_db(ref: np.ndarray, deg: np.ndarray, sample_rate: int) -> float:
    """Log-spectral distance (dB): per frame, the RMS over frequency of
    10·log10(P_ref / P_deg); mean over frames and channels. Hann frames of ~43 ms (2048 at
    48 kHz), half overlap; powers floored at 1e-10 (-100 dB) so silent bins stay finite."""
    from scipy.signal import stft

    r, d = _as2d(ref).astype(np.float64), _as2d(deg).astype(np.float64)
    nper = 1 << int(round(math.log2(0.043 * sample_rate)))
    if r.shape[1] < nper:
        raise NotApplicable(f"too short: {r.shape[1]} samples, one {nper}-sample frame needed")
    _, _, R = stft(r, sample_rate, nperseg=nper, noverlap=nper // 2, boundary=None, padded=False)
    _, _, D = stft(d, sample_rate, nperseg=nper, noverlap=nper // 2, boundary=None, padded=False)
    pr = np.maximum(np.abs(R) ** 2, 1e-10)
    pd = np.maximum(np.abs(D) ** 2, 1e-10)
    diff = 10 * np.log10(pr / pd)
    return float(np.mean(np.sqrt(np.mean(diff * diff, axis=-2))))


# -- speech and perceptual metrics -------------------------------------------------------------
def _need(module: str, extra: str = "metrics"):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise NotApplicable(
            f"{module} is not installed (pip install 'audio-qa[{extra}]')") from None


def resample(x: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Polyphase resampling along the last axis (scipy ``resample_poly``), float64."""
    if from_hz == to_hz:
        return np.asarray(x, dtype=np.float64)
    from scipy.signal import resample_poly

    g = math.gcd(int(from_hz), int(to_hz))
    return resample_poly(np.asarray(x, dtype=np.float64), to_hz // g, from_hz // g, axis=-1)


def stoi(ref: np.ndarray, deg: np.ndarray, sample_rate: int, *, extended: bool = False) -> float:
    """STOI (Taal 2011) or extended STOI (Jensen 2016) through pystoi, mono, equal lengths.
    pystoi returns 1e-5 with a warning when fewer than 30 speech frames remain after its silent
    frame removal (~0.4 s of speech); that is reported as not applicable instead."""
    pystoi = _need("pystoi")
    r, d = _mono(ref), _mono(deg)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(pystoi.stoi(r, d, sample_rate, extended=extended))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        raise NotApplicable("too short: fewer than 30 active 25.6 ms frames (about 0.4 s of "
                            "speech) after silent-frame removal")
    return value


def pesq_mos(ref: np.ndarray, deg: np.ndarray, sample_rate: int, mode: str) -> float:
    """PESQ MOS-LQO: ``mode`` "wb" (P.862.2, needs 16 kHz) or "nb" (P.862.1). Audio above
    16 kHz is resampled to 16 kHz; NB on 8 kHz audio runs at 8 kHz."""
    pesq = _need("pesq")
    r, d = _mono(ref), _mono(deg)
    if mode == "wb" and sample_rate < 16000:
        raise NotApplicable(f"wide-band PESQ needs 16 kHz audio, the reference is {sample_rate} Hz")
    if sample_rate < 8000:
        raise NotApplicable(f"PESQ needs 8 or 16 kHz audio, the reference is {sample_rate} Hz")
    fs = 8000 if sample_rate < 16000 else 16000
    r, d = resample(r, sample_rate, fs), resample(d, sample_rate, fs)
    try:
        return float(pesq.pesq(fs, r, d, mode))
    except pesq.NoUtterancesError:
        raise NotApplicable("PESQ found no utterances in the reference (silence or no speech)") from None
    except pesq.BufferTooShortError:
        raise NotApplicable(f"too short for PESQ ({len(r) / fs:.2f} s)") from None


_VISQOL: dict[str, object] = {}
#: ViSQOL needs at least this much audio (seconds): its patches are 30 frames of 256-sample hops
#: at 48 kHz (~0.16 s) and its global alignment needs a few of them.
VISQOL_MIN_S = 1.0


def visqol_moslqo(ref: np.ndarray, deg: np.ndarray, sample_rate: int, *,
                  mode: str = "audio") -> float:
    """ViSQOL v3 MOS-LQO through visqol-python (optional: pip install visqol-python).
    Channels are averaged; audio mode runs at 48 kHz, speech mode at 16 kHz (resampled)."""
    _need("visqol")
    from visqol.api import VisqolApi

    fs = 48000 if mode == "audio" else 16000
    r, d = resample(_mono(ref), sample_rate, fs), resample(_mono(deg), sample_rate, fs)
    if min(len(r), len(d)) < VISQOL_MIN_S * fs:
        raise NotApplicable(f"too short for ViSQOL: {min(len(r), len(d)) / fs:.2f} s, "
                            f"at least {VISQOL_MIN_S} s needed")
    api = _VISQOL.get(mode)
    if api is None:
        api = VisqolApi()
        api.create(mode=mode, use_lattice_model=False if mode == "speech" else None)
        _VISQOL[mode] = api
    return float(api.measure_from_arrays(r, d, fs).moslqo)


# -- the comparison of two Audio ---------------------------------------------------------------
@dataclass
class ComparisonResult:
    """Every metric of one pair (contract names, None where n/a) and the notes saying why."""

    metrics: dict[str, float | int | None]
    notes: list[str] = field(default_factory=list)
    alignment: Alignment | None = None
    sample_rate: int = 0
    channels: int = 0
    frames: int = 0
    content: str = "music"

    def to_metrics(self) -> dict[str, float | int | None]:
        return {k: self.metrics.get(k) for k in METRIC_NAMES}


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def compare(ref: Audio, deg: Audio, *, content: Content | None = None,
            skip: Collection[str] = (), max_delay_s: float = DEFAULT_MAX_DELAY_S,
            gain_match: bool = False) -> ComparisonResult:
    """Score ``deg`` against ``ref``. Channel counts that differ are both mixed to mono; a
    different rate is resampled to the reference's. ``skip`` names metrics not to compute
    (e.g. ``{"visqol_moslqo"}``, the slow one). Never raises for a pair that does not suit a
    metric: that metric is None with a note."""
    unknown = set(skip) - set(METRIC_NAMES)
    if unknown:
        raise ValueError(f"unknown metric(s) to skip: {sorted(unknown)}; known: {METRIC_NAMES}")
    notes: list[str] = []
    sr = ref.sample_rate
    r, d = ref.samples, deg.samples
    if ref.channels != deg.channels:
        notes.append(f"channels differ (ref {ref.channels}, deg {deg.channels}): both mixed to mono")
        r, d = _mono(r)[None, :], _mono(d)[None, :]
    if deg.sample_rate != sr:
        notes.append(f"deg resampled from {deg.sample_rate} Hz to the reference's {sr} Hz")
        d = resample(d, deg.sample_rate, sr)
    if content is None:
        content = "speech" if sr <= SPEECH_MAX_RATE else "music"
        how = f"{sr} Hz {'<=' if content == 'speech' else '>'} {SPEECH_MAX_RATE} Hz"
    else:
        how = "as given"
    metrics: dict[str, float | int | None] = dict.fromkeys(METRIC_NAMES)
    res = ComparisonResult(metrics, notes, None, sr, int(_as2d(r).shape[0]),
                           int(_as2d(r).shape[1]), content)

    def na(name: str, reason: str) -> None:
        metrics[name] = None
        notes.append(f"{name}: n/a, {reason}")

    if r.shape[1] < MIN_COMPARE_S * sr or d.shape[1] < MIN_COMPARE_S * sr:
        for name in METRIC_NAMES:
            na(name, f"too short: ref {r.shape[1] / sr:.3f} s, deg {d.shape[1] / sr:.3f} s, "
                     f"at least {MIN_COMPARE_S} s needed")
        return res
    if _rms(r) < SILENT_RMS:
        for name in METRIC_NAMES:
            na(name, f"the reference is silent (RMS below {20 * math.log10(SILENT_RMS):.0f} dBFS)")
        return res

    ra, da, al = align(r, d, sr, max_delay_s=max_delay_s, gain_match=gain_match)
    res.alignment = al
    metrics["delay_samples"] = al.delay_samples
    metrics["length_delta_samples"] = al.length_delta_samples
    if al.gain is not None:
        notes.append(f"deg scaled by {20 * math.log10(abs(al.gain)):+.2f} dB (gain match)")
    identical = bool(np.array_equal(ra, da))
    if identical:
        notes.append("identical: lossless")

    def run(name: str, fn, *args, **kw) -> None:
        if name in skip:
            notes.append(f"{name}: not computed (skipped on request)")
            return
        if identical and name in ("snr_db", "seg_snr_db", "si_sdr_db"):
            return  # infinite for a bit-exact copy: None, covered by the "identical" note
        try:
            metrics[name] = fn(*args, **kw)
        except NotApplicable as e:
            na(name, e.reason)

    run("snr_db", snr_db, ra, da)
    run("seg_snr_db", seg_snr_db, ra, da, sr)
    run("si_sdr_db", si_sdr_db, ra, da)
    run("lsd_db", lsd_db, ra, da, sr)
    speech_only = ("stoi", "estoi", "pesq_wb", "pesq_nb")
    if content == "speech":
        run("stoi", stoi, ra, da, sr)
        run("estoi", stoi, ra, da, sr, extended=True)
        run("pesq_wb", pesq_mos, r, d, sr, "wb")
        run("pesq_nb", pesq_mos, r, d, sr, "nb")
    else:
        for name in speech_only:
            if name not in skip:
                na(name, f"{'PESQ' if 'pesq' in name else 'STOI'} is a speech metric and the "
                         f"content is music ({how}; --content speech to score it)")
    run("visqol_moslqo", visqol_moslqo, r, d, sr, mode="speech" if content == "speech" else "audio")
    return res
