"""Comparison and round-trip items: load, (encode, decode,) compare, as ``ItemResult``.

A round trip is one task: encode + decode + every metric, so ``jobs > 1`` runs whole codecs in
parallel worker processes (forked after the heavy imports, so a worker starts in milliseconds)
and hands them out longest first; the results come back in the order the codecs were given.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator

from qa.audio import Audio
from qa.codecs import Codec, CodecUnavailable, nominal_kbps, parse_codec
from qa.loading import AudioReadError, load_audio
from qa.metrics.intrusive import compare
from qa.results import CheckResult, ItemResult


@dataclass(frozen=True)
class CompareOptions:
    """What :func:`qa.metrics.intrusive.compare` is asked for (picklable for workers)."""

    content: str | None = None
    skip: tuple[str, ...] = ()
    max_delay_s: float = 1.0
    gain_match: bool = False

    def kwargs(self) -> dict:
        return dict(content=self.content, skip=self.skip, max_delay_s=self.max_delay_s,
                    gain_match=self.gain_match)


def _unreadable(err: AudioReadError, kind: str, path: str, extra: dict) -> ItemResult:
    return ItemResult(kind=kind, path=path, extra=extra, notes=(f"not compared: {err.detail}",),
                      checks=(CheckResult("readable", "fail", f"{err.path}: {err.detail}",
                                          hint=err.hint),))


def comparison_item(ref: Audio, deg: Audio, *, kind: str = "comparison", path: str,
                    extra: dict | None = None, options: CompareOptions = CompareOptions(),
                    notes: tuple[str, ...] = ()) -> ItemResult:
    t0 = time.perf_counter()
    res = compare(ref, deg, **options.kwargs())
    extra = dict(extra or {})
    extra.setdefault("timing", {})["metrics_s"] = round(time.perf_counter() - t0, 4)
    return ItemResult(kind=kind, path=path, metrics=res.to_metrics(), sample_rate=res.sample_rate,
                      channels=res.channels, frames=res.frames, notes=notes + tuple(res.notes),
                      extra=extra)


def compare_paths(ref_path: str, deg_path: str, options: CompareOptions = CompareOptions()
                  ) -> ItemResult:
    """The ``comparison`` item of two files (path = the degraded file, ``reference`` = REF)."""
    extra = {"reference": ref_path}
    try:
        ref = load_audio(ref_path)
        deg = load_audio(deg_path)
    except AudioReadError as e:
        return _unreadable(e, "comparison", deg_path, extra)
    return comparison_item(ref, deg, path=deg_path, extra=extra, options=options)


def roundtrip_audio(audio: Audio, codec: Codec, *, path: str,
                    options: CompareOptions = CompareOptions()) -> ItemResult:
    """Encode and decode ``audio`` through ``codec`` and compare the result with it. A codec the
    environment cannot run gives an item with a failing ``backend_available`` check."""
    extra: dict = {"codec": codec.spec}
    try:
        t0 = time.perf_counter()
        enc = codec.encode(audio)
        t1 = time.perf_counter()
        dec = codec.decode(enc)
        t2 = time.perf_counter()
    except CodecUnavailable as e:
        return unavailable_item(path, codec.spec, str(e))
    extra["encoded_bytes"] = enc.nbytes
    extra["encoded_kbps"] = None if enc.kbps is None else round(enc.kbps, 3)
    extra["nominal_kbps"] = nominal_kbps(codec.spec)
    extra["timing"] = {"encode_s": round(t1 - t0, 4), "decode_s": round(t2 - t1, 4)}
    return comparison_item(audio, dec, kind="roundtrip", path=path, extra=extra,
                           options=options, notes=enc.notes)


def unavailable_item(path: str, spec: str, reason: str) -> ItemResult:
    return ItemResult(kind="roundtrip", path=path, extra={"codec": spec},
                      notes=(f"not run: {reason}",),
                      checks=(CheckResult("backend_available", "error", reason,
                                          hint="install what the message names, or drop this codec"),))


def roundtrip_path(path: str, spec: str, options: CompareOptions = CompareOptions()) -> ItemResult:
    """One round trip of a file through the codec of ``spec`` (a worker's whole task)."""
    try:
        audio = load_audio(path)
    except AudioReadError as e:
        return _unreadable(e, "roundtrip", path, {"codec": spec})
    try:
        codec = parse_codec(spec)
    except CodecUnavailable as e:
        return unavailable_item(path, spec, str(e))
    return roundtrip_audio(audio, codec, path=path, options=options)


#: Relative cost of a round trip per codec family (measured on song_pop_10s, see
#: benchmarks/codecs.py): used to hand the longest tasks out first.
_COST = {"opus": 4, "mp3": 4, "ffmpeg": 5, "encodec": 10, "vorbis": 3, "resample": 1}


def _preload(options: CompareOptions) -> None:
    """Import what the workers need before forking, so each starts with it loaded."""
    import scipy.signal  # noqa: F401
    import soundfile  # noqa: F401

    import importlib
    import importlib.util

    for mod in ("pystoi", "pesq") + (() if "visqol_moslqo" in options.skip else ("visqol.api",)):
        if importlib.util.find_spec(mod.split(".")[0]) is not None:  # a missing one is reported
            importlib.import_module(mod)                             # by its metric's note


def run_roundtrips(path: str, specs: list[str], *, jobs: int = 1,
                   options: CompareOptions = CompareOptions(),
                   on_item: Callable[[int, int, ItemResult], None] | None = None,
                   ) -> list[ItemResult]:
    """Round trips of one file through every spec, in ``jobs`` processes; results in spec order."""
    n = len(specs)
    results: list[ItemResult | None] = [None] * n
    for i, item in _iter_roundtrips(path, specs, jobs, options):
        results[i] = item
        if on_item:
            on_item(sum(r is not None for r in results), n, item)
    return [r for r in results if r is not None]


def _iter_roundtrips(path: str, specs: list[str], jobs: int, options: CompareOptions
                     ) -> Iterator[tuple[int, ItemResult]]:
    if jobs <= 1 or len(specs) <= 1:
        for i, s in enumerate(specs):
            yield i, roundtrip_path(path, s, options)
        return
    _preload(options)
    order = sorted(range(len(specs)), key=lambda i: -_COST.get(specs[i].split(":")[0].lower(), 1))
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(jobs, len(specs)), mp_context=ctx) as pool:
        futures = {pool.submit(roundtrip_path, path, specs[i], options): i for i in order}
        from concurrent.futures import as_completed

        for fut in as_completed(futures):
            yield futures[fut], fut.result()
