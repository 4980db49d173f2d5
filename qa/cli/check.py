"""``audio-qa check PATH...``: the output checks on audio files (directories are walked)."""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ProcessPoolExecutor

from qa.allocator import keep_freed_memory
from qa.analyze import check_path
from qa.checks import CheckContext
from qa.cli import common
from qa.cli.summary import summarize
from qa.loading import AUDIO_SUFFIXES, iter_audio_paths
from qa.results import Report


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("check", help="run the output checks on audio files",
                       description=__doc__)
    p.add_argument("paths", nargs="+", metavar="PATH", help="audio files or directories")
    common.add_config_options(p)
    common.add_output_options(p)
    common.add_jobs_option(p)
    p.add_argument("-v", "--verbose", action="store_true", help="list passing checks and notes too")
    return p


def context_from_config(cfg) -> CheckContext:
    return CheckContext(
        profile=cfg.profile(),
        expect_sample_rate=cfg.expect_sample_rate,
        expect_duration=cfg.expect_duration,
        expect_channels=cfg.expect_channels,
        read=cfg.read,
    )


def run(args: argparse.Namespace) -> int:
    keep_freed_memory()  # big temporaries reused from file to file (and in forked --jobs workers)
    cfg = common.config_from_args(args)
    ctx = context_from_config(cfg)
    paths = iter_audio_paths(args.paths, raw=cfg.read.raw_format is not None)
    if not paths:  # only folders, none holding audio: a PASS here would check nothing
        raise common.UsageError(
            f"no audio files found under {', '.join(args.paths)} (looked for "
            f"{', '.join(sorted(AUDIO_SUFFIXES))}); name the files or the folder that holds them")
    common.check_outputs(args, inputs=[*args.paths, *paths])
    missing = [p for p in args.paths if not os.path.exists(p)]
    items = list(_check_all(paths, ctx, cfg.jobs))
    report = Report(tuple(items), environment=common.environment())
    common.emit(report, args, summarize(report, verbose=args.verbose))
    return common.exit_status(items, strict=cfg.strict, usage_error=bool(missing))


def _check_all(paths, ctx, jobs):
    n = len(paths)
    if jobs > 1 and n > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for i, item in enumerate(pool.map(check_path, paths, [ctx] * n), 1):
                common.progress(i, n, f"{item.status} {item.path}")
                yield item
        return
    for i, p in enumerate(paths, 1):
        item = check_path(p, ctx)
        common.progress(i, n, f"{item.status} {item.path}")
        yield item
