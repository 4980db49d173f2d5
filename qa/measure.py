"""Lazy measurement of one :class:`~qa.audio.Audio`: each metric group is computed the first
time a check (or ``audio-qa measure``) asks for it, and only once.

A metric group is a function ``(m: Measurements) -> object`` (``m.audio`` is the signal;
``m.group(name)`` gives another group, computed once) whose result has ``to_metrics()``
(contract metric names to numbers or None) and, optionally, ``notes`` (why a metric is None).
New groups register in :data:`METRIC_GROUPS`; checks read them as ``m.group("levels")``.

Shared analyses, computed once per file for every group and check that reads them:

* ``m.group("frames")``: :class:`~qa.metrics.spectral.SpectralFrames`, the file's one STFT
  (2048-point Hann frames every 1024 samples, float32 power averaged over the channels, with
  ``sample_rate``, ``n_fft``, ``hop``, ``freqs_hz``, ``times_s``, ``onset_envelope()``);
* ``m.group("envelope")``: :class:`~qa.metrics.temporal.RmsEnvelope`, the 10 ms RMS envelope
  (``power``, ``db()``, ``pooled_db(k)``, ``hop``, ``frame_s``).

Both give no contract metrics of their own. Non-finite samples are zeroed for them (the
``finite`` check reports them), as for the content metrics.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from qa.audio import Audio
from qa.metrics import spectral, temporal
from qa.metrics.blas import one_blas_thread
from qa.metrics.content import content_metrics, seam_metrics, usable_samples
from qa.metrics.levels import level_stats
from qa.metrics.loudness import measure_loudness
from qa.metrics.song import song_metrics


def _levels(m: "Measurements") -> Any:
    return level_stats(m.audio.samples)


def _loudness(m: "Measurements") -> Any:
    return measure_loudness(m.audio.samples, m.audio.sample_rate)


def _frames(m: "Measurements") -> Any:
    return spectral.spectral_frames(m.finite_samples, m.audio.sample_rate)


def _envelope(m: "Measurements") -> Any:
    return temporal.envelope(m.finite_samples, m.audio.sample_rate)


def _content(m: "Measurements") -> Any:
    return content_metrics(m.audio.samples, m.audio.sample_rate, frames=m.group("frames"),
                           env=m.group("envelope"), usable=m.usable)


def _seams(m: "Measurements") -> Any:
    return seam_metrics(m.audio.samples, m.audio.sample_rate, usable=m.usable)


def _song(m: "Measurements") -> Any:
    return song_metrics(m.audio.samples, m.audio.sample_rate, env=m.group("envelope"),
                        usable=m.usable)


#: name -> function(m) -> result with to_metrics() (optional for the shared analyses). Order is
#: the order of metrics in JSON.
METRIC_GROUPS: dict[str, Callable[["Measurements"], Any]] = {
    "levels": _levels,
    "loudness": _loudness,
    "frames": _frames,
    "envelope": _envelope,
    "content": _content,
    "seams": _seams,
    "song": _song,
}


class Measurements:
    """Memoized metric groups of one audio signal."""

    def __init__(self, audio: Audio):
        self.audio = audio
        self._done: dict[str, Any] = {}
        self._usable: tuple[Any, list[str]] | None = None

    @property
    def usable(self) -> tuple[Any, list[str]]:
        """:func:`~qa.metrics.content.usable_samples` of the samples, once: (the samples with
        NaN/inf zeroed and magnitudes limited, the same array when clean; the notes)."""
        if self._usable is None:
            self._usable = usable_samples(self.audio.samples)
        return self._usable

    @property
    def finite_samples(self):
        """The samples with NaN/inf zeroed and magnitudes limited (:attr:`usable` without its
        notes; the same array when clean), once."""
        return self.usable[0]

    def group(self, name: str) -> Any:
        if name not in self._done:
            try:
                fn = METRIC_GROUPS[name]
            except KeyError:
                raise KeyError(f"unknown metric group {name!r}; known: {sorted(METRIC_GROUPS)}") from None
            with one_blas_thread():  # see qa.metrics.blas: small products, a process per core
                self._done[name] = fn(self)
        return self._done[name]

    @property
    def levels(self):
        return self.group("levels")

    def compute_all(self) -> "Measurements":
        for name in METRIC_GROUPS:
            self.group(name)
        return self

    def metrics(self) -> dict[str, Any]:
        """Contract metrics of every group computed so far, in registry order."""
        out: dict[str, Any] = {}
        for name in METRIC_GROUPS:
            if name in self._done:
                out.update(_finite_metrics(getattr(self._done[name], "to_metrics", dict)())[0])
        return out

    def notes(self) -> list[str]:
        out: list[str] = []
        for name in METRIC_GROUPS:
            if name in self._done:
                out.extend(getattr(self._done[name], "notes", ()) or ())
                out.extend(_finite_metrics(getattr(self._done[name], "to_metrics", dict)())[1])
        return out


def _finite_metrics(metrics: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The last guard of "a metric that cannot be computed is null with a note": a NaN or an
    infinity that escaped a metric function becomes None, and the note names it."""
    out, notes = {}, []
    for k, v in metrics.items():
        if isinstance(v, (float, np.floating)) and not math.isfinite(v):
            notes.append(f"{k}: n/a, the computation gave {v} (the samples are out of range "
                         "for it; see the finite and clipping checks)")
            v = None
        out[k] = v
    return out, notes
