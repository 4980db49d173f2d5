"""load -> measure -> judge for one file, as an :class:`~qa.results.ItemResult`."""

from __future__ import annotations

from qa.audio import Audio
from qa.checks import CheckContext, run_file_checks
from qa.checks.engine import error_check
from qa.loading import AudioReadError, ReadOptions, load_audio, open_audio
from qa.measure import Measurements
from qa.results import CheckResult, ItemResult


def unreadable_item(err: AudioReadError, kind: str = "file") -> ItemResult:
    """The item of a file that could not be read: one failing ``readable`` check."""
    return ItemResult(
        kind=kind,
        path=err.path,
        checks=(CheckResult("readable", "fail", str(err), hint=err.hint),),
        notes=(f"not measured: {err.detail}",),
    )


def error_item(path: str, e: Exception, kind: str = "file") -> ItemResult:
    """The item of a file whose measurement raised: one ``internal`` check with status
    ``error`` naming the exception and where it happened, so the rest of the run goes on."""
    return ItemResult(kind=kind, path=path,
                      checks=(error_check("internal", e, "measuring this file failed"),),
                      notes=(f"not measured: {type(e).__name__} inside audio-qa",))


def guarded(path: str, build, kind: str = "file") -> ItemResult:
    """``build()`` -> ItemResult, where an unreadable file is its ``readable`` item and any other
    exception (a bug, or memory exhausted) is this file's ``error`` item instead of the end of
    the run. The item is serialized once here so that a value JSON cannot carry is found now,
    for this file, not when the whole report is written."""
    try:
        item = build()
        item.to_dict()
        return item
    except AudioReadError as e:
        return unreadable_item(e, kind)
    except Exception as e:  # one file's failure never costs the run: it becomes its item
        return error_item(path, e, kind)


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


def check_path(path: str, ctx: CheckContext, *, on_open=None) -> ItemResult:
    """Load and check one file; an unreadable file is a result, not an exception. A file
    whose samples exceed the decode budget is checked in segments (:mod:`qa.longform`).
    ``on_open(source)``: called with the opened, checked :class:`~qa.loading.AudioSource`
    before any sample is decoded (the scan worker reports the file's length from it)."""

    def build() -> ItemResult:
        with open_audio(path, ctx.read) as src:
            if on_open is not None:
                on_open(src)
            if src.fits_budget:
                return check_audio(src.read_all(), ctx, path=path)
            from qa.longform import check_long

            return check_long(src, ctx)

    return guarded(path, build)


def measure_path(path: str, *, series: bool = False, read: ReadOptions | None = None) -> ItemResult:
    """Every metric of one file, without checks other than ``readable``. ``series`` adds the
    momentary and short-term loudness series (``momentary_series``, ``short_term_series``)."""
    return guarded(path, lambda: _measure_audio(load_audio(path, read), path, series))


def _measure_audio(audio: Audio, path: str, series: bool) -> ItemResult:
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
