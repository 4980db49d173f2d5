"""``audio-qa doctor``: audio I/O backends, platform and timed saves, to diagnose "it hangs while
saving". Each backend is imported and exercised in its own child process with a timeout."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

from qa.cli import common
from qa.doctor.backends import IMPORT_TIMEOUT_S, probe_backend
from qa.doctor.platform import inspect_dir, system_facts
from qa.doctor.report import backend_item, diagnosis, dir_item
from qa.io.backends import BACKENDS
from qa.io.formats import FORMATS
from qa.results import Report

#: Seconds one save of the 1 s test signal may take before it counts as hung (imports get at
#: least :data:`qa.doctor.backends.IMPORT_TIMEOUT_S`; a ``--duration`` save more, in proportion).
#: The slowest first save measured is README "Performance" (the doctor's table prints it); a
#: hung backend costs this once, beside the other probes.
DEFAULT_TIMEOUT_S = 5.0
#: Backends whose failure fails the doctor when neither ``[tool.audio-qa.doctor] require`` nor
#: ``--require`` names others: the ones the reference pipeline saves through (``save_audio``
#: writes with soundfile; scipy and torchaudio are its fallbacks, and the doctor warns on them).
DEFAULT_REQUIRED = ("soundfile",)
_SYMBOL = {"ok": "ok", "wrong_subtype": "wrong subtype", "failed": "FAILED", "hung": "HUNG",
           "not_tried": "not tried"}


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("doctor", help="audio I/O backends, platform and timed saves (hang diagnosis)",
                       description=__doc__)
    p.add_argument("--output-dir", default=".", metavar="DIR",
                   help="where your pipeline saves (test files are written there and removed; default: .)")
    p.add_argument("--timeout", type=common._positive_float, default=DEFAULT_TIMEOUT_S, metavar="S",
                   help=f"seconds a save of the 1 s test signal may take before it counts as hung "
                   f"(default {DEFAULT_TIMEOUT_S:g}; an import gets at least {IMPORT_TIMEOUT_S:g} s, a "
                   "--duration save this plus a quarter of its length)")
    p.add_argument("--formats", nargs="+", choices=list(FORMATS), default=list(FORMATS), metavar="FMT",
                   help=f"formats to save: {', '.join(FORMATS)} (default all)")
    p.add_argument("--backends", nargs="+", default=None, metavar="NAME",
                   help=f"backends to probe (default all: {', '.join(BACKENDS)})")
    p.add_argument("--duration", type=common._positive_float, default=None, metavar="S",
                   help="also save a signal this many seconds long (e.g. a song length, 240)")
    p.add_argument("--require", action="append", default=None, metavar="BACKEND",
                   help="a backend your pipeline saves through: broken, it fails the doctor (repeat; "
                   "default [tool.audio-qa.doctor] require, else " + ", ".join(DEFAULT_REQUIRED)
                   + "); the others only warn")
    p.add_argument("--config", metavar="FILE", help="TOML config ([tool.audio-qa] in ./pyproject.toml is read too)")
    common.add_output_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    common.check_outputs(args)
    names = args.backends or [n for n in BACKENDS if not n.startswith("test_")]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise common.UsageError(f"unknown backend(s) {', '.join(unknown)}; known: {', '.join(BACKENDS)}")
    required = _required(args)
    t0 = time.perf_counter()
    facts = system_facts()
    d = inspect_dir(args.output_dir)
    work_parent = d.path if d.writable else tempfile.gettempdir()
    work = tempfile.mkdtemp(prefix=".audio-qa-doctor-", dir=work_parent)
    try:
        probes = _probe_all(names, args, work)
    finally:
        shutil.rmtree(work, ignore_errors=False)
    seconds = args.duration or 1.0
    expected = int(seconds * 48000 * 2 * 4 * 2)  # stereo float32 at 48 kHz, and its temp copy
    items = [dir_item(d, facts, expected)] + [
        backend_item(p, BACKENDS[p.name].install_hint, required=p.name in required) for p in probes]
    text = diagnosis(probes, d, facts)
    optional = [i.path for i in items[1:] if any(c.message.startswith("optional backend ") for c in i.checks)]
    if optional:
        text += (f" Broken but optional (a warning, not a failure: the pipeline under test saves through "
                 f"{', '.join(required)}): {', '.join(optional)}.")
    if not d.writable:
        text += f" (The saves above were tested in {work_parent} instead.)"
    report = Report(tuple(items), environment=common.environment(),
                    extra={"diagnosis": text, "seconds": round(time.perf_counter() - t0, 2)})
    common.emit(report, args, _summary(report, probes, d, facts, args.formats, text))
    if not d.writable:
        return common.EXIT_USAGE
    return common.exit_status(items, strict=bool(args.strict))


def _required(args: argparse.Namespace) -> tuple[str, ...]:
    """``--require``, else ``[tool.audio-qa.doctor] require``, else :data:`DEFAULT_REQUIRED`."""
    if args.require:
        names, source = args.require, "--require"
    else:
        table = common.config_from_args(args).extra.get("doctor", {})
        if not isinstance(table, dict) or set(table) - {"require"}:
            raise common.UsageError(f"[tool.audio-qa.doctor] takes one key, require (a list of backends); got {table!r}")
        names, source = table.get("require", list(DEFAULT_REQUIRED)), "[tool.audio-qa.doctor] require"
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise common.UsageError(f"{source} must be a list of backend names, got {names!r}")
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise common.UsageError(f"{source}: unknown backend(s) {', '.join(unknown)}; known: {', '.join(BACKENDS)}")
    return tuple(names)


def _probe_all(names: list[str], args: argparse.Namespace, work: str) -> list:
    """Two probes at a time: torchaudio spends seconds importing torch while the others finish
    (each child is its own process, so they do not share state)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(name: str):
        print(f"doctor: probing {name} ...", file=sys.stderr, flush=True)
        p = probe_backend(name, args.formats, work, args.timeout, args.duration)
        print(f"doctor: {name} done", file=sys.stderr, flush=True)
        return p

    order = sorted(names, key=lambda n: n != "torchaudio")  # the slow one first
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(zip(order, pool.map(one, order)))
    return [done[n] for n in names]


def _summary(report, probes, d, facts, formats, text) -> str:
    wsl = f", WSL{facts['wsl']}" if facts.get("wsl") else ""
    lines = [f"audio-qa doctor: {facts['os']}{wsl}, Python {facts['python']}",
             f"Output directory {d.path}: {report.items[0].checks[0].message}", ""]
    width = 14
    lines.append("backend      " + "".join(f"{f:>{width}s}" for f in formats) + "   import")
    for p in probes:
        row = f"{p.name:12s} "
        cells = {c.format: c for c in p.cells}
        for f in formats:
            c = cells.get(f)
            if not p.available:
                txt = "-"
            elif c is None:
                txt = "n/a"
            elif c.outcome in ("ok", "wrong_subtype") and c.cold_s is not None:
                txt = f"{_SYMBOL[c.outcome] if c.outcome == 'ok' else 'subtype'} {c.cold_s:.2f}s"
            else:
                txt = _SYMBOL[c.outcome]
            row += f"{txt:>{width}s}"
        if p.available:
            row += f"   {p.import_s:.2f}s {p.info.get('version', '')}"
        else:
            state = _item(report, p.name).checks[0].status
            row += "   " + {"skip": "not installed", "warn": "broken (optional)"}.get(state, "BROKEN")
        lines.append(row)
    lines.append("  (ok T = written and read back correctly, T = first save in seconds; subtype = wrong "
                 "subtype; n/a = format not offered by that backend; - = backend unavailable)")
    ta = next((p for p in probes if p.name == "torchaudio" and p.available), None)
    if ta is not None:
        i = ta.info
        extra = f", TorchCodec {i['torchcodec']} with FFmpeg {i.get('ffmpeg_major')}" if i.get("torchcodec") else ""
        lines.append(f"  torch {i.get('torch')} ({i.get('torch_build')}, device {i.get('device')}, "
                     f"bf16 {'yes' if i.get('bf16') else 'no'}); torchaudio API: {i.get('api')}{extra}; "
                     f"int16 tensor -> {'SQUARE WAVE' if ta.int16_trap else 'correct PCM'}")
    lines.append("")
    for item in report.items:
        for c in item.checks:
            if c.status in ("warn", "fail", "error"):
                lines.append(f"{c.status.upper():5s} {item.path} {c.id}: {c.message}")
                if c.hint:
                    lines.append(f"      fix: {c.hint}")
    lines += ["", "Diagnosis: " + text, f"-> {report.status.upper()} ({report.extra['seconds']:.1f} s)"]
    return "\n".join(lines)


def _item(report, name: str):
    return next(i for i in report.items if i.path == name)
