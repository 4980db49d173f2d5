"""``audio-qa run``: the reference generation pipeline under the stage probes, with optional
fault injection; the output file is then checked with every file check."""

from __future__ import annotations

import argparse
import json
import sys

from qa.cli import common
from qa.cli.summary import summarize
from qa.results import CheckResult, ItemResult, Report


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("run", help="run the reference generation pipeline under the stage probes",
                       description=__doc__)
    p.add_argument("--scenario", default="pop_en_10s", metavar="NAME",
                   help="scenario in audioqa_pipeline/scenarios (default pop_en_10s)")
    p.add_argument("--fault", metavar="NAME", help="inject a fault (see --list-faults)")
    p.add_argument("--steps", type=common._positive_int, default=32, help="Euler sampling steps (default 32)")
    p.add_argument("--cfg-strength", type=float, default=2.0, help="classifier-free guidance (default 2.0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chunked", action="store_true", help="decode in overlapping chunks")
    p.add_argument("--no-master", action="store_true", help="skip the mastering chain")
    p.add_argument("--out", default="out", metavar="DIR", help="output folder (default ./out)")
    p.add_argument("--save-timeout", type=float, default=30.0, metavar="S",
                   help="seconds before a save is reported as hung (default 30)")
    p.add_argument("--list-faults", action="store_true", help="list faults and scenarios, then exit")
    common.add_config_options(p, expect=False)
    common.add_output_options(p)
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def run(args: argparse.Namespace) -> int:
    from audioqa_pipeline.faults import FAULTS
    from audioqa_pipeline.scenario import list_scenarios, load_scenario

    common.check_outputs(args)
    if args.list_faults:
        doc = {"faults": [{"name": f.name, "stage": f.stage, "description": f.description} for f in FAULTS.values()],
               "scenarios": [{"name": s.name, "duration_s": s.duration_s} for s in list_scenarios()]}
        if args.json == "-":
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        else:
            if args.json:
                common.write_text_atomic(args.json, json.dumps(doc, indent=2) + "\n")
            for f in FAULTS.values():
                print(f"{f.name:22s} {f.stage:12s} {f.description}")
            for s in doc["scenarios"]:
                print(f"scenario {s['name']:18s} {s['duration_s']:g} s")
        return common.EXIT_OK
    if args.fault and args.fault not in FAULTS:
        raise common.UsageError(f"unknown fault {args.fault!r}; known: {', '.join(FAULTS)}")
    try:
        scenario = load_scenario(args.scenario)
    except FileNotFoundError as e:
        raise common.UsageError(str(e)) from None
    cfg = common.config_from_args(args)
    item = run_item(scenario, args, cfg.profile())
    report = Report((item,), environment=common.environment())
    common.emit(report, args, summarize(report, verbose=args.verbose) + "\n" + stage_lines(item))
    return common.exit_status([item], strict=cfg.strict)


def run_item(scenario, args, profile) -> ItemResult:
    """Run the pipeline and build the kind "run" item: stages, first_bad_stage, file checks."""
    from audioqa_pipeline.lyrics import LyricsError, SAMPLE_RATE
    from audioqa_pipeline.run import RunOptions, run_pipeline
    from qa.analyze import check_path
    from qa.checks import CheckContext
    from qa.probes import Probe

    probe = Probe(profile=profile)
    opts = RunOptions(steps=args.steps, cfg_strength=args.cfg_strength, seed=args.seed, chunked=args.chunked,
                      fault=args.fault, master=not args.no_master, save_timeout_s=args.save_timeout,
                      progress=args.json != "-" or sys.stderr.isatty())
    notes: list[str] = []
    try:
        out = run_pipeline(scenario, args.out, probe, opts)
    except LyricsError as e:
        return ItemResult("run", scenario.name, (CheckResult("stage_lyrics", "fail", str(e), hint="fix the LRC lines named; every line must start with [mm:ss.xx]"),),
                          extra={"stages": probe.to_list(), "first_bad_stage": "lyrics_tokens"})
    bad, bad_check = probe.first_bad()
    checks = [bad_check]
    metrics, sr, ch, frames = {}, None, None, None
    if out.written:
        ctx = CheckContext(profile=profile, expect_sample_rate=SAMPLE_RATE, expect_channels=2,
                           expect_duration=scenario.duration_s, seams=out.seams or None)
        file_item = check_path(out.path, ctx)
        checks += list(file_item.checks)
        metrics, sr, ch, frames = file_item.metrics, file_item.sample_rate, file_item.channels, file_item.frames
        notes += list(file_item.notes)
    else:
        checks.append(CheckResult("readable", "fail", f"no output file: the save stage did not complete"))
    notes += out.notes
    extra = {"stages": probe.to_list(), "first_bad_stage": bad, "scenario": scenario.name,
             "seconds": round(out.seconds, 3)}
    if out.fault is not None:
        extra["injected_fault"] = {"name": out.fault.name, "stage": out.fault.stage}
    return ItemResult("run", out.path or scenario.name, tuple(checks), metrics, sr, ch, frames,
                      tuple(notes), extra)


def stage_lines(item: ItemResult) -> str:
    lines = ["stages:"]
    for s in item.extra.get("stages", []):
        peak = "n/a" if s["peak"] is None else f"{s['peak']:.4g}"
        lines.append(f"  {s['index']}. {s['name']:14s} {s['status']:5s} {str(s['shape']):22s} {s['dtype'] or '':8s} "
                     f"peak {peak:8s} {s['seconds']:.3f} s")
    lines.append(f"first_bad_stage: {item.extra.get('first_bad_stage')}")
    return "\n".join(lines)
