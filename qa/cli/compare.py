"""``audio-qa compare REF DEG``: intrusive metrics of a degraded file against its reference."""

from __future__ import annotations

import argparse
import os

from qa.cli import common
from qa.cli.summary import metrics_table
from qa.metrics.intrusive import METRIC_NAMES
from qa.results import Report
from qa.roundtrip import CompareOptions, compare_paths


def add_compare_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--content", choices=("speech", "music"),
                   help="what the audio is: PESQ/STOI only score speech, ViSQOL picks its mode "
                        "(default: speech at 16 kHz or below, music above)")
    p.add_argument("--skip", action="append", default=[], metavar="METRIC",
                   choices=[m for m in METRIC_NAMES if m not in ("delay_samples", "length_delta_samples")],
                   help="do not compute METRIC (repeatable), e.g. --skip visqol_moslqo")
    p.add_argument("--max-delay", type=float, default=1.0, metavar="SECONDS",
                   help="bound of the delay search (default 1.0)")
    p.add_argument("--gain-match", action="store_true",
                   help="scale the degraded signal by its least-squares gain before scoring")


def options_from_args(args: argparse.Namespace) -> CompareOptions:
    if not args.max_delay >= 0:
        raise common.UsageError(f"--max-delay must be >= 0 seconds, got {args.max_delay}")
    return CompareOptions(content=args.content, skip=tuple(args.skip),
                          max_delay_s=args.max_delay, gain_match=args.gain_match)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("compare", help="intrusive metrics of a degraded file against its reference",
                       description=__doc__)
    p.add_argument("ref", metavar="REF", help="reference audio file")
    p.add_argument("deg", metavar="DEG", help="degraded audio file")
    add_compare_options(p)
    common.add_output_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    common.check_outputs(args, inputs=[args.ref, args.deg])
    options = options_from_args(args)
    item = compare_paths(args.ref, args.deg, options)
    report = Report((item,), environment=common.environment())
    common.emit(report, args, "\n".join([f"reference: {args.ref}", *metrics_table(item)]))
    missing = [p for p in (args.ref, args.deg) if not os.path.exists(p)]
    return common.exit_status([item], strict=bool(args.strict), usage_error=bool(missing))
