"""``audio-qa scan PATH... | --manifest FILE --out RUN_DIR``: the checks over a corpus.

The files are cut into shards (``RUN_DIR/plan.json``); each shard writes its rows (one item per
line, the schema of ``check``) and then a completion marker, so a scan killed at any point and
rerun with ``--resume`` redoes only the shards that were in flight. Each file is checked in a
worker child under ``--file-timeout``: a decoder that hangs or crashes makes that file's row
(``readable`` = error) and the scan goes on. ``--shard I/N`` runs every N-th shard from the I-th
(Slurm job arrays, any batch scheduler); ``--executor dask`` runs the shards on Dask distributed
(a LocalCluster of --jobs workers, or ``dask=tcp://HOST:PORT`` for a running ``dask scheduler``).
Once every shard is done, ``RUN_DIR/summary.json`` (``audio-qa.corpus/1``) is written; read it
with ``audio-qa report RUN_DIR`` and ``audio-qa gate RUN_DIR --baseline FILE``.

Exit status as for ``check``: 0 nothing failed, 1 a file failed or is unreadable, 2 usage error
or a listed path that does not exist.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from qa.atomic import write_atomic
from qa.cli import common
from qa.loading import iter_audio_paths
from qa.scan import ScanError
from qa.scan.plan import DEFAULT_SHARD_SIZE, Entry, make_plan, parse_shard_spec, read_manifest
from qa.scan.progress import Progress
from qa.scan.store import RunDir
from qa.scan.summary import summarize_rows
from qa.scan.worker import DEFAULT_TIMEOUT_S, TIMEOUT_PER_AUDIO_S, context_spec


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("scan", help="check a corpus: sharded, resumable, local or on Dask",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="PATH", help="audio files or directories")
    p.add_argument("--manifest", metavar="FILE",
                   help='JSONL, one {"path": ..., "sample_rate": ..., "channels": ..., "duration": ...} per line')
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run directory (created)")
    p.add_argument("--executor", default="local", type=_executor, metavar="local|dask[=ADDRESS]",
                   help="local worker processes (default) or Dask distributed")
    p.add_argument("--shard", type=_shard, metavar="I/N", help="run only shard group I of N, no engine")
    p.add_argument("--resume", action="store_true", help="finish a scan in RUN_DIR: skip finished shards")
    p.add_argument("--shard-size", type=common._positive_int, default=DEFAULT_SHARD_SIZE, metavar="FILES",
                   help=f"files per shard (default {DEFAULT_SHARD_SIZE})")
    p.add_argument("--file-timeout", type=common._positive_float, default=DEFAULT_TIMEOUT_S,
                   metavar="SECONDS", help=f"per-file time limit (default {DEFAULT_TIMEOUT_S:g}), plus "
                   f"{TIMEOUT_PER_AUDIO_S:g} s for each second of audio the file's header declares")
    common.add_config_options(p)
    common.add_jobs_option(p)
    p.add_argument("--json", metavar="FILE", help="write the corpus summary to FILE ('-' = stdout)")
    p.add_argument("--html", metavar="FILE", help="write the corpus report (as `audio-qa report RUN_DIR`)")
    p.add_argument("--strict", action="store_true", default=None, help="warnings fail (exit 1)")
    return p


def _executor(s: str) -> tuple[str, str | None]:
    name, _, address = s.partition("=")
    if name not in ("local", "dask") or (name == "local" and address):
        raise argparse.ArgumentTypeError(f"expected local, dask or dask=ADDRESS, got {s!r}")
    return name, address or None


def _shard(s: str) -> tuple[int, int]:
    try:
        return parse_shard_spec(s)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def run(args: argparse.Namespace) -> int:
    cfg = common.config_from_args(args)
    for out in (args.json, args.html):
        common.check_writable(out)
    profile = cfg.profile()
    try:
        entries = _entries(args, raw=cfg.read.raw_format is not None)
        context = context_spec(profile, expect_sample_rate=cfg.expect_sample_rate,
                               expect_channels=cfg.expect_channels, expect_duration=cfg.expect_duration,
                               read=cfg.read)
        plan = make_plan(entries, profile_name=profile.name, thresholds=profile.thresholds,
                         shard_size=args.shard_size, context=context)
        # absolute: Dask workers and array tasks run in working folders of their own
        run_dir = RunDir(os.path.abspath(args.out))
        selected = plan.group(*args.shard) if args.shard else list(range(len(plan.shards)))
        _prepare(run_dir, plan, selected, resume=args.resume)
        todo = [i for i in selected if not run_dir.is_done(i)]
        progress = Progress(sum(len(plan.shards[i]) for i in selected))
        for i in selected:
            if i not in todo:
                m = run_dir.read_marker(i)
                progress.add(m["files"], m["failures"], m["audio_s"], resumed=True)
        if progress.resumed:
            progress.show()
        _execute(args, run_dir, todo, context, cfg.jobs, progress)
    except ScanError as e:
        raise common.UsageError(str(e)) from None
    missing = any(not os.path.exists(e.path) for e in entries)
    if len(run_dir.done_shards(plan)) < len(plan.shards):
        statuses = _statuses(run_dir, plan, selected)
        group = f"shard group {args.shard[0]}/{args.shard[1]}" if args.shard else "these shards"
        print(f"audio-qa scan: {group} done ({len(run_dir.done_shards(plan))} of {len(plan.shards)} "
              "shards finished); summary.json "
              "is written when the last shard finishes", file=sys.stderr)
    else:
        summary = summarize_rows(run_dir.iter_rows(plan), profile=plan.profile, fingerprint=plan.fingerprint)
        _write_summary(run_dir, summary, args)
        statuses = summary["statuses"]
    if missing:
        return common.EXIT_USAGE
    if statuses.get("fail") or statuses.get("error") or (cfg.strict and statuses.get("warn")):
        return common.EXIT_FAIL
    return common.EXIT_OK


def _entries(args: argparse.Namespace, *, raw: bool = False) -> list[Entry]:
    if args.manifest and args.paths:
        raise ScanError("give PATH... or --manifest FILE, not both")
    if args.manifest:
        return read_manifest(args.manifest)
    if not args.paths:
        raise ScanError("nothing to scan: give PATH... or --manifest FILE")
    # absolute, as the manifest's: every worker opens the same file whatever its working folder
    entries = [Entry(os.path.abspath(p)) for p in iter_audio_paths(args.paths, raw=raw)]
    if not entries:
        raise ScanError("no audio files found under the given paths")
    return entries


def _prepare(run_dir: RunDir, plan, selected: list[int], *, resume: bool) -> None:
    """Write the plan, or check that the one in RUN_DIR is this scan's."""
    if not run_dir.has_plan():
        if resume or not run_dir.holds_other_files():
            run_dir.write_plan(plan)  # tasks of one array starting together write the same bytes
            return
        if not run_dir.has_plan():  # else a sibling task put its plan in place just now
            raise ScanError(f"--out {run_dir.path} is not empty and holds no scan; choose a new folder")
    old = run_dir.load_plan()
    if old.fingerprint != plan.fingerprint:
        raise ScanError(f"--out {run_dir.path} holds a different scan (plan {old.fingerprint}, {old.files} files, "
                        f"profile {old.profile}; this one is {plan.fingerprint}, {plan.files} files, profile "
                        f"{plan.profile}): the files, expectations, shard size or thresholds differ; "
                        "choose a new --out")
    done = [i for i in selected if run_dir.is_done(i)]
    if done and not resume:
        raise ScanError(f"--out {run_dir.path} already holds this scan with {len(done)} of {len(selected)} "
                        "shards finished; pass --resume to finish it, or choose a new --out")


def _execute(args, run_dir: RunDir, todo: list[int], context: dict, jobs: int, progress: Progress) -> None:
    if not todo:
        return
    from qa.scan import executors

    name, address = args.executor
    if name == "dask":
        executors.run_dask(run_dir, todo, context, address=address, jobs=jobs,
                           timeout_s=args.file_timeout, progress=progress)
    else:
        executors.run_local(run_dir, todo, context, jobs=jobs, timeout_s=args.file_timeout,
                            progress=progress)


def _statuses(run_dir: RunDir, plan, selected: list[int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in selected:
        with open(run_dir.rows_path(i), encoding="utf-8") as f:
            for line in f:
                s = json.loads(line)["status"]
                out[s] = out.get(s, 0) + 1
    return out


def _write_summary(run_dir: RunDir, summary: dict, args: argparse.Namespace) -> None:
    text = json.dumps(summary, indent=1, allow_nan=False, sort_keys=True) + "\n"
    write_atomic(run_dir.summary_path, text)
    if args.json == "-":
        sys.stdout.write(text)
    elif args.json:
        common.write_text_atomic(args.json, text)
    if args.html:
        _write_corpus_html(run_dir, args.html)
    if args.json != "-":
        print(summary_text(summary, run_dir.summary_path))


def summary_text(summary: dict, where: str) -> str:
    s = summary["statuses"]
    lines = [f"{summary['files']} file(s), {summary['audio_hours']:.2f} h of audio: "
             + ", ".join(f"{s[k]} {k}" for k in ("pass", "warn", "fail", "error") if s[k])]
    for cid, c in summary["checks"].items():
        if c["fail"] or c["warn"]:
            lines.append(f"  {cid:18s} {c['fail']} fail ({100 * c['fail_rate']:.2f} %), "
                         f"{c['warn']} warn ({100 * c['warn_rate']:.2f} %)")
    lines.append(f"summary: {where}")
    return "\n".join(lines)


def load_summary(run_dir: str) -> dict:
    """``RUN_DIR/summary.json``, or a UsageError saying what the run directory lacks."""
    rd = RunDir(run_dir)
    try:
        plan = rd.load_plan()
        if not os.path.isfile(rd.summary_path):
            done = len(rd.done_shards(plan))
            raise ScanError(f"{run_dir}: the scan is not finished ({done} of {len(plan.shards)} shards "
                            "done); finish it with `audio-qa scan ... --out RUN_DIR --resume`")
        with open(rd.summary_path, encoding="utf-8") as f:
            return json.load(f)
    except (ScanError, OSError, json.JSONDecodeError) as e:
        raise common.UsageError(str(e)) from None


def gate_run_dir(args: argparse.Namespace, cfg) -> int:
    """``audio-qa gate RUN_DIR --baseline FILE [--update]``: the corpus gate (qa/scan/gate.py)."""
    from qa.baseline import BaselineError, load_json, previous_path, write_baseline
    from qa.cli.gate import summarize
    from qa.gate import ToleranceError, tolerances_from_profile
    from qa.scan.gate import check_summary, compare_corpus, corpus_settings, corpus_snapshot

    if args.html or args.junit:
        raise common.UsageError("--html / --junit are per-file reports; for a run directory use "
                                "`audio-qa report RUN_DIR --html FILE`")
    summary = load_summary(args.results)
    try:
        profile = _scan_profile(args, cfg, summary)
        settings = corpus_settings(profile.section("gate"))
        tolerances = tolerances_from_profile(profile)
        have_baseline = os.path.exists(args.baseline)
        if not have_baseline and not args.update:
            raise BaselineError(f"baseline {args.baseline}: no such file; create it from this scan with "
                                f"`audio-qa gate {args.results} --baseline {args.baseline} --update`")
        baseline = load_json(args.baseline, "baseline") if have_baseline else {}
        if have_baseline:
            check_summary(baseline, f"baseline {args.baseline}")
    except (BaselineError, ToleranceError) as e:
        raise common.UsageError(str(e)) from None
    result = compare_corpus(baseline, summary, tolerances, settings, strict=cfg.strict)
    out = {**summary, "gate": result.to_dict(args.baseline)}
    text = json.dumps(out, indent=1, allow_nan=False) + "\n"
    if args.json == "-":
        sys.stdout.write(text)
    elif args.json:
        common.write_text_atomic(args.json, text)
    if args.json != "-":
        print(summarize(result, verbose=args.verbose))
    if args.update:
        try:
            write_baseline(args.baseline, corpus_snapshot(summary))
        except BaselineError as e:
            raise common.UsageError(str(e)) from None
        kept = f" (previous kept as {previous_path(args.baseline)})" if have_baseline else ""
        print(f"audio-qa gate: corpus baseline {args.baseline} updated from {args.results}{kept}", file=sys.stderr)
        return common.EXIT_OK
    return common.EXIT_OK if result.passed else common.EXIT_FAIL


def _scan_profile(args: argparse.Namespace, cfg, summary: dict):
    """The profile the scan was judged with (its ``[gate]`` tolerances gate it); a different
    ``--profile`` on the command line is a usage error, not a silent mix of two profiles."""
    from dataclasses import replace

    scanned = summary.get("profile")
    if args.profile and scanned and args.profile != scanned:
        raise common.UsageError(f"--profile {args.profile}: the scan in {args.results} was judged with "
                                f"profile {scanned}; gate it with its own (omit --profile) or scan "
                                f"again with --profile {args.profile}")
    return replace(cfg, profile_name=scanned or cfg.profile_name).profile()


def _write_corpus_html(run_dir: RunDir, path: str, **kw) -> None:
    from qa.errors import OutputError
    from qa.scan.report import write_corpus_html

    try:
        write_corpus_html(run_dir, path, **kw)
    except OutputError as e:
        raise common.UsageError(str(e)) from None


def report_run_dir(args: argparse.Namespace) -> int:
    """``audio-qa report RUN_DIR --html FILE``: the corpus page (qa/scan/report.py)."""
    if args.junit:
        raise common.UsageError("--junit needs per-file results; a run directory gives --html and --json")
    summary = load_summary(args.results)
    if args.html:
        search = [*args.audio_dir, "."]
        _write_corpus_html(RunDir(args.results), args.html, figures=not args.no_figures, search_dirs=search)
    if args.json:
        text = json.dumps(summary, indent=1, allow_nan=False, sort_keys=True) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            common.write_text_atomic(args.json, text)
    s = summary["statuses"]
    if s["fail"] or s["error"] or (args.strict and s["warn"]):
        return common.EXIT_FAIL
    return common.EXIT_OK
