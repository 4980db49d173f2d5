"""What the subcommands share: common options, config, output and exit status."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
from typing import Any, Iterable

from qa.atomic import Staged
from qa.config import ConfigError, RunConfig, build_config
from qa.loading import decode_budget
from qa.profiles import profile_names
from qa.errors import AudioQAError, OutputError
from qa.results import ItemResult, Report, shown

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(AudioQAError):
    """Bad flags, bad config, path not found, output not writable: exit status 2."""


def add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="FILE", help="write JSON results to FILE ('-' = stdout)")
    p.add_argument("--strict", action="store_true", default=None, help="warnings fail (exit 1)")
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report to FILE")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML (one test case per item and check) to FILE")


def add_config_options(p: argparse.ArgumentParser, *, expect: bool = True) -> None:
    p.add_argument(
        "--profile", metavar="NAME",
        help=f"threshold set: {', '.join(profile_names())} (default generic: faults only) or one from the config",
    )
    p.add_argument("--config", metavar="FILE", help="TOML config ([tool.audio-qa] in ./pyproject.toml is read too)")
    if expect:
        p.add_argument("--expect-sample-rate", type=_positive_int, metavar="HZ")
        p.add_argument("--expect-duration", type=_positive_float, metavar="SECONDS")
        p.add_argument("--expect-channels", type=_positive_int, metavar="N")
    p.add_argument("--raw-format", metavar="SUBTYPE:RATE:CHANNELS",
                   help="read headerless .raw/.pcm files as this format, e.g. PCM_16:48000:2 "
                        "(refused otherwise)")


def add_jobs_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", type=_positive_int, metavar="N", help="parallel worker processes (default 1)")


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}")
    return v


def _positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {s!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {s!r}")
    return v


def config_from_args(args: argparse.Namespace) -> RunConfig:
    flags = {
        "profile": getattr(args, "profile", None),
        "expect_sample_rate": getattr(args, "expect_sample_rate", None),
        "expect_duration": getattr(args, "expect_duration", None),
        "expect_channels": getattr(args, "expect_channels", None),
        "strict": getattr(args, "strict", None),
        "jobs": getattr(args, "jobs", None),
        "raw_format": getattr(args, "raw_format", None),
    }
    try:
        cfg = build_config(getattr(args, "config", None), flags=flags)
        decode_budget()  # a malformed AUDIO_QA_DECODE_BUDGET_MB is a usage error up front
    except ConfigError as e:
        raise UsageError(str(e)) from None
    if hasattr(args, "strict"):
        # `strict = true` in a config makes warnings fail everywhere: the exit status and the
        # JUnit output read the same flag.
        args.strict = cfg.strict
    return cfg


def environment() -> dict[str, Any]:
    """Versions and platform for the report header (cheap: no optional imports)."""
    import numpy
    import soundfile

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "soundfile": soundfile.__version__,
        "libsndfile": soundfile.__libsndfile_version__,
    }


def check_writable(path: str | None) -> None:
    """Fail early (exit 2) when an output file cannot be written."""
    if not path or path == "-":
        return
    d = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(d):
        raise UsageError(f"output {path}: directory {d} does not exist")
    if not os.access(d, os.W_OK):
        raise UsageError(f"output {path}: directory {d} is not writable")
    if os.path.isdir(path):
        raise UsageError(f"output {path}: is a directory; name a file")


#: The output options every command shares, in the order they are checked and written.
OUTPUT_FLAGS = ("json", "html", "junit")


def check_outputs(args: argparse.Namespace, inputs: Iterable[str] = (),
                  extra: Iterable[tuple[str, str | None]] = ()) -> None:
    """Refuse (exit 2), before any work and before anything is written, an output that cannot
    be written, that names one of the command's ``inputs`` (``--json a.wav`` would replace the
    audio), or that names the same file as another output (one of them would be lost).
    ``extra`` adds (flag, path) pairs of command-specific outputs (``--plot``)."""
    outs = [(f"--{flag}", getattr(args, flag, None)) for flag in OUTPUT_FLAGS] + list(extra)
    outs = [(flag, path) for flag, path in outs if path and path != "-"]
    inputs = [p for p in inputs if p and p != "-"]
    for i, (flag, path) in enumerate(outs):
        check_writable(path)
        for src in inputs:
            if same_file(path, src):
                raise UsageError(f"{flag} {path}: is an input of this command ({src}); writing it "
                                 "would replace it; name another file")
        for other_flag, other in outs[:i]:
            if same_file(path, other):
                raise UsageError(f"{flag} {path}: is also the {other_flag} output; give each "
                                 "output its own file")


def same_file(a: str, b: str) -> bool:
    """True when paths ``a`` and ``b`` name one file (same real path, or a hard link of it)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half a file."""
    write_together([(path, text)])


def write_together(files: Iterable[tuple[str, str | bytes]]) -> None:
    """Write the outputs of one command together: every file is staged (written and fsynced
    beside its target) before any is put in place, so a failure leaves all the old files, and
    a new out.json never sits beside an old out.html."""
    from contextlib import ExitStack

    try:
        with ExitStack() as stack:
            staged = [stack.enter_context(Staged(path, data)) for path, data in files]
            for s in staged:
                s.commit()
    except OutputError as e:
        raise UsageError(str(e)) from None


def render_reports(results: dict[str, Any], args: argparse.Namespace,
                   **html_kw: Any) -> list[tuple[str, str]]:
    """(path, text) of the ``--html`` / ``--junit`` outputs of any command, rendered from the
    results dict; written by the caller together with its other outputs."""
    out = []
    if getattr(args, "html", None):
        from qa.reports import render_html

        check_writable(args.html)
        out.append((args.html, render_html(results, out_dir=Path(args.html).resolve().parent,
                                           **html_kw)))
    if getattr(args, "junit", None):
        from qa.reports import render_junit

        check_writable(args.junit)
        out.append((args.junit, render_junit(results, strict=bool(getattr(args, "strict", False)))))
    return out


def write_reports(results: dict[str, Any], args: argparse.Namespace, *,
                  json_text: str | None = None, **html_kw: Any) -> None:
    """Write ``json_text`` to ``--json`` (stdout for '-') and the ``--html`` / ``--junit``
    reports of ``results``, all files together (see :func:`write_together`)."""
    files = render_reports(results, args, **html_kw)
    target = getattr(args, "json", None)
    if target and target != "-" and json_text is not None:
        files.insert(0, (target, json_text))
    write_together(files)
    if target == "-" and json_text is not None:
        sys.stdout.write(json_text)
        sys.stdout.flush()


def emit(report: Report, args: argparse.Namespace, summary: str) -> None:
    """JSON to ``--json`` (stdout for '-'), the human summary to stdout otherwise; ``--html`` and
    ``--junit`` reports too, written together with the JSON."""
    write_reports(report.to_dict(), args, json_text=report.to_json())
    if getattr(args, "json", None) != "-":
        print(summary)


def exit_status(items: Iterable[ItemResult], *, strict: bool, usage_error: bool = False) -> int:
    items = list(items)
    if usage_error:
        return EXIT_USAGE
    statuses = {i.status for i in items}
    if statuses & {"fail", "error"}:
        return EXIT_FAIL
    if strict and "warn" in statuses:
        return EXIT_FAIL
    return EXIT_OK


def progress(i: int, n: int, text: str) -> None:
    if n > 1:
        print(f"[{i}/{n}] {shown(text)}", file=sys.stderr, flush=True)


def run_guarded(fn, args: argparse.Namespace) -> int:
    """Run a subcommand body; UsageError becomes exit 2 with its message on stderr."""
    try:
        return fn(args)
    except (UsageError, OutputError) as e:
        print(f"audio-qa {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
