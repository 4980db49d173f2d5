"""What the subcommands share: common options, config, output and exit status."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from typing import Any, Iterable

from qa.atomic import write_atomic
from qa.config import ConfigError, RunConfig, build_config
from qa.profiles import profile_names
from qa.errors import AudioQAError, OutputError
from qa.results import ItemResult, Report

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
    }
    try:
        cfg = build_config(getattr(args, "config", None), flags=flags)
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


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half a file."""
    try:
        write_atomic(path, text)
    except OutputError as e:
        raise UsageError(str(e)) from None


def write_reports(results: dict[str, Any], args: argparse.Namespace, **html_kw: Any) -> None:
    """``--html`` / ``--junit`` outputs of any command, rendered from the results dict."""
    if getattr(args, "html", None):
        from qa.reports import write_html

        check_writable(args.html)
        write_html(results, args.html, **html_kw)
    if getattr(args, "junit", None):
        from qa.reports import write_junit

        check_writable(args.junit)
        write_junit(results, args.junit, strict=bool(getattr(args, "strict", False)))


def emit(report: Report, args: argparse.Namespace, summary: str) -> None:
    """JSON to ``--json`` (stdout for '-'), the human summary to stdout otherwise; ``--html`` and
    ``--junit`` reports too."""
    target = getattr(args, "json", None)
    if target == "-":
        sys.stdout.write(report.to_json())
        sys.stdout.flush()
    elif target:
        write_text_atomic(target, report.to_json())
    write_reports(report.to_dict(), args)
    if target != "-":
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
        print(f"[{i}/{n}] {text}", file=sys.stderr, flush=True)


def run_guarded(fn, args: argparse.Namespace) -> int:
    """Run a subcommand body; UsageError becomes exit 2 with its message on stderr."""
    try:
        return fn(args)
    except (UsageError, OutputError) as e:
        print(f"audio-qa {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
