"""``audio-qa measure PATH...``: every metric of a file, without judging it."""

from __future__ import annotations

import argparse
import os
import sys

from qa.analyze import measure_path
from qa.cli import common
from qa.cli.summary import metrics_table
from qa.loading import iter_audio_paths
from qa.results import Report


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("measure", help="print every metric of a file without judging it",
                       description=__doc__)
    p.add_argument("paths", nargs="+", metavar="PATH", help="audio files or directories")
    p.add_argument("--series", action="store_true",
                   help="add momentary_series and short_term_series ([t_end_seconds, lufs] "
                   "every 100 ms) to each item's metrics")
    common.add_output_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    paths = iter_audio_paths(args.paths)
    common.check_outputs(args, inputs=[*args.paths, *paths])
    missing = [p for p in args.paths if not os.path.exists(p)]
    items = []
    for i, p in enumerate(paths, 1):
        item = measure_path(p, series=bool(args.series))
        common.progress(i, len(paths), f"{item.status} {p}")
        items.append(item)
    report = Report(tuple(items), environment=common.environment())
    lines = [line for it in items for line in metrics_table(it)]
    common.emit(report, args, "\n".join(lines))
    if not paths:
        print("audio-qa measure: no audio files found under the given paths", file=sys.stderr)
        return common.EXIT_USAGE
    return common.exit_status(items, strict=bool(args.strict), usage_error=bool(missing))
