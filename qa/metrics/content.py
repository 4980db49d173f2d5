"""The "content" metric group: everything the content checks (phase, dropout, noise_like,
bandwidth) read, computed once per file from :mod:`qa.metrics.spectral` and
:mod:`qa.metrics.temporal`. The seam search is its own group ("seams"): it is the costliest
and only the seams check needs it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qa.metrics import spectral, temporal
from qa.metrics.levels import OVERRANGE


@dataclass(frozen=True)
class ContentMetrics:
    """Stereo image, interleave, spectrum and envelope summary of one file (units in names)."""

    sample_rate: int
    stereo: temporal.StereoImage
    interleave: temporal.Interleave
    flatness: spectral.FrameFlatness
    bandwidth_hz: float | None
    cliff_db: float | None
    peak_fraction: float | None
    envelope_range_db: float | None
    dropouts: temporal.Dropouts
    #: why spectral_flatness / bandwidth_hz is None when the file is shorter than one analysis
    #: frame (None otherwise: measured, or None because of silence)
    flatness_too_short: str | None = None
    bandwidth_too_short: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def nyquist_hz(self) -> float:
        return self.sample_rate / 2.0

    def to_metrics(self) -> dict[str, float | None]:
        return {
            "lr_correlation": self.stereo.lr_correlation,
            "spectral_flatness": self.flatness.median,
            "bandwidth_hz": self.bandwidth_hz,
            "longest_dropout_s": self.dropouts.longest_s if self.dropouts.typical_dbfs is not None else None,
        }


def content_metrics(samples: np.ndarray, sample_rate: int, *,
                    frames: spectral.SpectralFrames | None = None,
                    env: temporal.RmsEnvelope | None = None,
                    usable: tuple[np.ndarray, list[str]] | None = None) -> ContentMetrics:
    """Measure a (channels, frames) array; non-finite samples are treated as zero here (the
    ``finite`` check reports them), so one NaN does not poison every spectrum. ``frames`` and
    ``env``: the file's shared STFT (:func:`~qa.metrics.spectral.spectral_frames`) and 10 ms
    RMS envelope (:func:`~qa.metrics.temporal.envelope`), computed here when not given (from the
    same :func:`usable_samples`). ``usable``: :func:`usable_samples` of ``samples`` when the
    caller has it already (it is a full pass over the samples)."""
    x, notes = usable if usable is not None else usable_samples(samples)
    notes = list(notes)
    frames = frames if frames is not None else spectral.spectral_frames(x, sample_rate)
    env = env if env is not None else temporal.envelope(x, sample_rate)
    stereo = temporal.stereo_image(x)
    if stereo.lr_correlation is None:
        notes.append(f"lr_correlation: n/a, {stereo.reason}")
    flat = spectral.frame_flatness(frames)
    flat_short = _too_short(x, frames.n_fft) if frames.frames == 0 else None
    if flat.median is None:
        why = flat_short or "no frame carries signal (digital silence)"
        notes.append(f"spectral_flatness: n/a, {why}")
    spec = spectral.frames_average_spectrum(frames)
    bw = spectral.bandwidth_hz(spec)
    bw_short = flat_short
    if bw is None:
        why = bw_short or "the spectrum is at the floor everywhere (silence)"
        notes.append(f"bandwidth_hz: n/a, {why}")
    drops = temporal.low_energy_runs(x, sample_rate, env=env)
    if drops.typical_dbfs is None:
        notes.append("longest_dropout_s: n/a, the file is digital silence")
    return ContentMetrics(
        sample_rate=int(sample_rate),
        stereo=stereo,
        interleave=temporal.lag_autocorrelation(x),
        flatness=flat,
        bandwidth_hz=bw,
        cliff_db=spectral.edge_cliff_db(spec, bw) if bw is not None else None,
        peak_fraction=spectral.peak_fraction(spec),
        envelope_range_db=temporal.envelope_range_db(x, sample_rate, env=env),
        dropouts=drops,
        flatness_too_short=flat_short,
        bandwidth_too_short=bw_short,
        notes=tuple(notes),
    )


def _too_short(x: np.ndarray, n_fft: int) -> str:
    return (f"the file is too short: {x.shape[-1]} samples per channel, fewer than the {n_fft} "
            "of one analysis frame")


@dataclass(frozen=True)
class SeamMetrics:
    """Result of the periodic-jump search (no contract metrics of its own)."""

    search: temporal.SeamSearch
    notes: tuple[str, ...] = ()

    def to_metrics(self) -> dict[str, float | None]:
        return {}


def seam_metrics(samples: np.ndarray, sample_rate: int, *,
                 usable: tuple[np.ndarray, list[str]] | None = None) -> SeamMetrics:
    """The periodic-jump search of :func:`~qa.metrics.temporal.find_periodic_jumps`;
    ``usable`` as for :func:`content_metrics`."""
    x, notes = usable if usable is not None else usable_samples(samples)
    return SeamMetrics(temporal.find_periodic_jumps(x, sample_rate), tuple(notes))


def usable_samples(samples: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """``samples`` with NaN and infinities as zero and magnitudes beyond :data:`OVERRANGE`
    limited to it (the powers of such values overflow), and the note saying so; the array
    itself (no copy) when clean. The clean test is one sum: finite samples within OVERRANGE
    cannot sum to infinity."""
    x = np.asarray(samples)
    if np.isfinite(x.sum()):
        hi = max(float(x.max()), -float(x.min())) if x.size else 0.0
        if hi <= OVERRANGE:
            return x, []
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    if not (x.size and max(float(x.max()), -float(x.min())) > OVERRANGE):
        return x, []
    return np.clip(x, -OVERRANGE, OVERRANGE), [
        f"content metrics: samples beyond +-{OVERRANGE:g} full scale were limited to it "
        "(the levels and finite checks report the real values)"]
