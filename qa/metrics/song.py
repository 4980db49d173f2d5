"""The "song" metric group: what the song-level checks (repetition, truncated_end, dead_air,
clicks, stuck_note, tempo_drift) read, computed once per file.

The spectral side (loop search, development, onset envelope and tempo curve) reads band levels
of one STFT, made in :func:`band_frames`: the only place this group touches the STFT, so it can
be fed from a shared analysis of the file instead. The time-domain side (clicks, the edges of
the file) reads the samples and the 10 ms envelope of :mod:`qa.metrics.temporal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse

from qa.metrics import rhythm, spectral, structure, temporal, transients

#: Band frames are analysed at about this rate (the mono mix decimated by an integer factor):
#: the loop search, development and onsets need band levels, not the top octave, and a
#: 512-point STFT there costs a tenth of a 2048-point one at 44.1 kHz.
ANALYSIS_RATE = 11025
N_FFT = 512
HOP = 256
#: Log-spaced bands from 40 Hz to the analysis Nyquist.
N_BANDS = 40
FMIN_HZ = 40.0


@dataclass(frozen=True)
class BandFrames:
    """Band levels of consecutive STFT frames: ``db`` (bands, frames) float32 dB re full
    scale of the mono mix, one frame every ``hop_s`` seconds."""

    db: np.ndarray
    hop_s: float


def band_frames(samples: np.ndarray, sample_rate: int) -> BandFrames:
    """(channels, frames) samples -> :class:`BandFrames`: the mono mix averaged over blocks of
    ``q = sample_rate // ANALYSIS_RATE`` samples (a boxcar: its aliasing is the same for every
    repetition of a sound, so it cannot make two spans alike or unlike), then
    :func:`qa.metrics.spectral.stft_power_chunks` (uncentred Hann frames of :data:`N_FFT`,
    hop :data:`HOP`), each power spectrum summed into :data:`N_BANDS` log-spaced bands
    (:func:`qa.metrics.spectral.log_band_matrix`).

    The one place the song metrics touch an STFT: a shared analysis of the file can replace it
    by returning the same band levels from its own frames (any hop; callers use ``hop_s``)."""
    x = np.asarray(samples)
    x = x[None, :] if x.ndim == 1 else x
    q = max(1, sample_rate // ANALYSIS_RATE)
    n = x.shape[1] // q * q
    # each channel's q-sample sums as one matrix-vector product (a reduction over a short
    # axis is 5x slower, q strided sums 2.5x), in the samples' precision (float32: four
    # values summed, ~1e-7 relative), the channels added in float64
    mono = np.zeros(n // q)
    for c in range(x.shape[0]):
        row = x[c, :n]
        row = row if row.dtype in (np.float32, np.float64) else row.astype(np.float64)
        mono += row.reshape(-1, q) @ np.ones(q, dtype=row.dtype)
    mono /= x.shape[0] * q
    rate = sample_rate / q
    _, w = spectral.log_band_matrix(rate, N_FFT, N_BANDS, min(FMIN_HZ, rate / 4))
    w = scipy.sparse.csr_matrix(w)
    # the transform in float32: each bin's power to ~1e-6 of the frame's largest (as the file's
    # STFT, qa.metrics.spectral.spectral_frames), far below the dB differences read here
    parts = [np.asarray(w @ p, dtype=np.float32) for _, p in
             spectral.stft_power_chunks(mono.astype(np.float32), N_FFT, HOP, center=False,
                                        dtype=np.float32)]
    power = np.concatenate(parts, axis=1) if parts else np.zeros((N_BANDS, 0), np.float32)
    db = 10.0 * np.log10(np.maximum(power, 10.0 ** (spectral.FLOOR_DB / 10.0)))
    return BandFrames(db.astype(np.float32), HOP / rate)


@dataclass(frozen=True)
class SongMetrics:
    """Loop, development, tempo curve, clicks and file edges of one file (units in names)."""

    duration_s: float
    loop: structure.Loop
    development: structure.Development
    tempo: rhythm.TempoCurve
    clicks: transients.Clicks
    edges: transients.Edges
    notes: tuple[str, ...] = field(default=())

    def to_metrics(self) -> dict[str, float | None]:
        e, t = self.edges, self.tempo
        return {
            "repetition_fraction": self.loop.fraction if e.typical_dbfs is not None else None,
            "repetition_period_s": self.loop.period_s,
            "end_level_db": e.end_db,
            "lead_silence_s": e.lead_s,
            "trail_silence_s": e.trail_s,
            "click_count": self.clicks.count if e.typical_dbfs is not None else None,
            "click_max_ratio": self.clicks.max_ratio,
            "spectral_change_db": self.development.change_db,
            "tempo_bpm": t.bpm if t.reason is None else None,
            "tempo_drift_pct": t.drift_pct,
            "tempo_jump_pct": t.jump_pct,
        }


def song_metrics(samples: np.ndarray, sample_rate: int, *, click_ratio: float = 30.0,
                 env: temporal.RmsEnvelope | None = None,
                 usable: tuple[np.ndarray, list[str]] | None = None) -> SongMetrics:
    """Measure a (channels, frames) array; non-finite samples count as zero here (``finite``
    reports them). ``env``: the file's shared 10 ms :class:`~qa.metrics.temporal.RmsEnvelope`
    of the same samples (computed here when not given); ``usable``: the samples cleaned by
    :func:`qa.metrics.content.usable_samples` when the caller has them (a full pass fewer)."""
    if usable is not None:
        x = usable[0]
    else:
        x = np.asarray(samples)
        if not np.isfinite(x.sum(dtype=np.float64)):
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    dur = x.shape[-1] / sample_rate
    frames = band_frames(x, sample_rate)
    env_db = env.db() if env is not None else temporal.rms_envelope(x, sample_rate, 0.01)
    edges = transients.edges(env_db, 0.01)
    loop = structure.find_loop(frames.db, frames.hop_s)
    dev = structure.development(frames.db, frames.hop_s)
    tempo = rhythm.tempo_curve(rhythm.onset_envelope(frames.db, frames.hop_s), frames.hop_s)
    clicks = transients.find_clicks(x, sample_rate, min_ratio=click_ratio)
    notes = []
    if edges.typical_dbfs is None:
        notes.append("repetition_fraction, end_level_db, lead_silence_s, trail_silence_s, "
                     "click_count: n/a, the file is digital silence")
    if loop.period_s is None and edges.typical_dbfs is not None:
        notes.append("repetition_period_s: n/a, no span of 0.5-4 s repeats near-identically")
    if clicks.max_ratio is None and edges.typical_dbfs is not None:
        notes.append(f"click_max_ratio: n/a, no isolated spike reaches {click_ratio:g}x the "
                     "local level")
    if dev.change_db is None:
        notes.append(f"spectral_change_db: n/a, only {dev.blocks} audible "
                     f"{dev.block_s:.2f} s blocks (needs 10)")
    if tempo.reason is not None:
        notes.append(f"tempo_bpm, tempo_drift_pct, tempo_jump_pct: n/a, {tempo.reason}")
    return SongMetrics(dur, loop, dev, tempo, clicks, edges, tuple(notes))
