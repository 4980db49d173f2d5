"""load -> measure -> judge for one file, as an :class:`~qa.results.ItemResult`."""

from __future__ import annotations

from qa.audio import Audio
from qa.checks import CheckContext, run_file_checks
from qa.loading import AudioReadError, load_audio
from qa.measure import Measurements
from qa.results import CheckResult, ItemResult


def unreadable_item(err: AudioReadError, kind: str = "file") -> ItemResult:
    """The item of a file that could not be read: one failing ``readable`` check."""
    return ItemResult(
        kind=kind,
        path=err.path,
        checks=(CheckResult("readable", "fail", f"{err.path}: {err.detail}", hint=err.hint),),
        notes=(f"not measured: {err.detail}",),
    )


def check_audio(audio: Audio, ctx: CheckContext, *, path: str | None = None, kind: str = "file",
                all_metrics: bool = False) -> ItemResult:
    """Run the file checks on in-memory audio (the pipeline uses this on its output)."""
    m = Measurements(audio)
    checks = run_file_checks(m, ctx)
    if all_metrics:
        m.compute_all()
    return ItemResult(
        kind=kind,
        path=path or audio.source,
        checks=checks,
        metrics=m.metrics(),
        sample_rate=audio.sample_rate,
        channels=audio.channels,
        frames=audio.frames,
        notes=tuple(m.notes()),
    )


def check_path(path: str, ctx: CheckContext) -> ItemResult:
    """Load and check one file; an unreadable file is a result, not an exception."""
    try:
        audio = load_audio(path)
    except AudioReadError as e:
        return unreadable_item(e)
    return check_audio(audio, ctx, path=path)


def measure_path(path: str, *, series: bool = False) -> ItemResult:
    """Every metric of one file, without checks other than ``readable``. ``series`` adds the
    momentary and short-term loudness series (``momentary_series``, ``short_term_series``)."""
    try:
        audio = load_audio(path)
    except AudioReadError as e:
        return unreadable_item(e)
    m = Measurements(audio).compute_all()
    metrics = m.metrics()
    if series:
        metrics.update(m.group("loudness").series_metrics())
    return ItemResult(
        kind="file", path=path, metrics=metrics, sample_rate=audio.sample_rate,
        channels=audio.channels, frames=audio.frames, notes=tuple(m.notes()),
        checks=(CheckResult("readable", "pass", f"{audio.sample_rate} Hz, {audio.channels} ch, "
                            f"{audio.duration_s:.3f} s"),),
    )
