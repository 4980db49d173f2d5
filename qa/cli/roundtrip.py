"""``audio-qa roundtrip PATH --codec SPEC...``: encode/decode through codecs, then compare.

Codec specs: pcm16, pcm24, flac, mulaw, alaw, mp3:<kbps>, vorbis[:<0-10>], opus:<kbps>,
resample:<hz>, ffmpeg:<encoder>:<kbps>, encodec:<kbps>. ``--sweep`` runs each codec family over
its bitrate ladder (quality-versus-bitrate data; ``--plot FILE.png`` draws it).
"""

from __future__ import annotations

import argparse
import os
import sys

from qa.atomic import write_atomic
from qa.cli import common
from qa.errors import OutputError
from qa.cli.compare import add_compare_options, options_from_args
from qa.cli.summary import metrics_table
from qa.codecs import CodecSpecError, CodecUnavailable, expand_sweep, parse_codec
from qa.metrics.intrusive import METRIC_NAMES
from qa.results import Report
from qa.roundtrip import run_roundtrips


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("roundtrip", help="encode/decode through codecs, then compare",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", metavar="PATH", help="audio file to send through the codecs")
    p.add_argument("--codec", action="append", required=True, metavar="SPEC",
                   help="codec spec (repeatable, or several after one flag separated by commas)")
    p.add_argument("--sweep", action="store_true", help="each codec family over its bitrate ladder")
    p.add_argument("--plot", metavar="FILE.png", help="write a quality-versus-bitrate plot")
    p.add_argument("--plot-metric", default=None, choices=METRIC_NAMES[2:], metavar="METRIC",
                   help="metric on the plot's y axis (default visqol_moslqo, else snr_db)")
    add_compare_options(p)
    common.add_output_options(p)
    common.add_jobs_option(p)
    return p


def run(args: argparse.Namespace) -> int:
    common.check_outputs(args, inputs=[args.path], extra=[("--plot", args.plot)])
    options = options_from_args(args)
    specs = [s.strip() for flag in args.codec for s in flag.split(",") if s.strip()]
    if args.sweep:
        specs = expand_sweep(specs)
    for s in specs:  # a malformed spec is a usage error before any work
        try:
            parse_codec(s)
        except CodecSpecError as e:
            raise common.UsageError(str(e)) from None
        except CodecUnavailable:
            pass  # reported on its own item (backend_available), the other codecs still run
    if not os.path.exists(args.path):
        raise common.UsageError(f"{args.path}: no such file")
    items = run_roundtrips(
        args.path, specs, jobs=args.jobs or 1, options=options,
        on_item=lambda i, n, it: common.progress(i, n, f"{it.status} {it.extra.get('codec')}"),
    )
    report = Report(tuple(items), environment=common.environment())
    lines = []
    for it in items:
        lines.append(f"codec {it.extra.get('codec')}:")
        lines.extend(metrics_table(it))
    if args.plot:
        from qa.reports.codec_plot import plot_quality_vs_bitrate

        _write_bytes_atomic(args.plot, plot_quality_vs_bitrate(items, metric=args.plot_metric))
    common.emit(report, args, "\n".join(lines))
    if any(c.id == "backend_available" for it in items for c in it.checks):
        print("audio-qa roundtrip: some codecs are unavailable here (see their items)", file=sys.stderr)
        return common.EXIT_USAGE
    return common.exit_status(items, strict=bool(args.strict))


def _write_bytes_atomic(path: str, data: bytes) -> None:
    try:
        write_atomic(path, data)
    except OutputError as e:
        raise common.UsageError(str(e)) from None
