"""Lazy measurement of one :class:`~qa.audio.Audio`: each metric group is computed the first
time a check (or ``audio-qa measure``) asks for it, and only once.

A metric group is a pure function ``(audio) -> object`` whose result has ``to_metrics()``
(contract metric names to numbers or None) and, optionally, ``notes`` (why a metric is None).
New groups register in :data:`METRIC_GROUPS`; checks read them as ``m.group("levels")``.
"""

from __future__ import annotations

from typing import Any, Callable

from qa.audio import Audio
from qa.metrics.content import content_metrics, seam_metrics
from qa.metrics.levels import level_stats
from qa.metrics.loudness import measure_loudness
from qa.metrics.song import song_metrics


def _levels(audio: Audio) -> Any:
    return level_stats(audio.samples)


def _loudness(audio: Audio) -> Any:
    return measure_loudness(audio.samples, audio.sample_rate)


def _content(audio: Audio) -> Any:
    return content_metrics(audio.samples, audio.sample_rate)


def _seams(audio: Audio) -> Any:
    return seam_metrics(audio.samples, audio.sample_rate)


def _song(audio: Audio) -> Any:
    return song_metrics(audio.samples, audio.sample_rate)


#: name -> function(audio) -> result with to_metrics(). Order is the order of metrics in JSON.
METRIC_GROUPS: dict[str, Callable[[Audio], Any]] = {
    "levels": _levels,
    "loudness": _loudness,
    "content": _content,
    "seams": _seams,
    "song": _song,
}


class Measurements:
    """Memoized metric groups of one audio signal."""

    def __init__(self, audio: Audio):
        self.audio = audio
        self._done: dict[str, Any] = {}

    def group(self, name: str) -> Any:
        if name not in self._done:
            try:
                fn = METRIC_GROUPS[name]
            except KeyError:
                raise KeyError(f"unknown metric group {name!r}; known: {sorted(METRIC_GROUPS)}") from None
            self._done[name] = fn(self.audio)
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
                out.update(self._done[name].to_metrics())
        return out

    def notes(self) -> list[str]:
        out: list[str] = []
        for name in METRIC_GROUPS:
            if name in self._done:
                out.extend(getattr(self._done[name], "notes", ()) or ())
        return out
