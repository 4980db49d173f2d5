"""``audio-qa gate RESULTS.json --baseline FILE [--update]``: the regression gate.

Compares saved results with a baseline (see qa/gate.py for the rules; tolerances come from the
profile's ``[gate]`` table). Exit 0 when nothing regressed, 1 on a regression (or a missing item
without --allow-missing), 2 when the results or the baseline cannot be used. ``--update``
accepts the results as the new baseline (written atomically, the old one kept as FILE.prev) and
exits 0. ``--json`` writes the results with the gate's rows under a top-level "gate" key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from qa.baseline import (BaselineError, load_baseline, load_json, previous_path, snapshot,
                         write_baseline)
from qa.cli import common
from qa.gate import GateResult, ToleranceError, compare, tolerances_from_profile

_MARK = {"regressed": "REGRESSED", "missing": "MISSING", "new": "new", "improved": "improved",
         "unchanged": "unchanged"}


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("gate", help="regression gate against a stored baseline", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", metavar="RESULTS.json", help="JSON written by an audio-qa command, or a scan's RUN_DIR")
    p.add_argument("--baseline", required=True, metavar="FILE", help="baseline JSON")
    p.add_argument("--update", action="store_true",
                   help="accept RESULTS as the new baseline (the old one is kept as FILE.prev)")
    p.add_argument("--allow-missing", action="store_true",
                   help="items or metrics missing from RESULTS do not fail the gate")
    p.add_argument("--root", metavar="DIR", default=".",
                   help="item paths under DIR are compared relative to it (default: .)")
    p.add_argument("-v", "--verbose", action="store_true", help="list unchanged rows too")
    common.add_config_options(p, expect=False)
    common.add_output_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    cfg = common.config_from_args(args)
    common.check_outputs(args, inputs=[args.results, args.baseline])
    if os.path.isdir(args.results):  # a scan's run directory: the corpus gate
        from qa.cli.scan import gate_run_dir

        return gate_run_dir(args, cfg)
    try:
        tolerances = tolerances_from_profile(cfg.profile())
        results = load_json(args.results, "results")
        current = snapshot(results, root=args.root, source=os.path.basename(args.results))
        have_baseline = os.path.exists(args.baseline)
        if not have_baseline and not args.update:
            raise BaselineError(
                f"baseline {args.baseline}: no such file; create it from these results with "
                f"`audio-qa gate {args.results} --baseline {args.baseline} --update`"
            )
        baseline = load_baseline(args.baseline) if have_baseline else {"items": {}}
    except (BaselineError, ToleranceError) as e:
        raise common.UsageError(str(e)) from None
    result = compare(baseline, results, tolerances, root=args.root, strict=cfg.strict,
                     allow_missing=args.allow_missing)
    if not args.update and result.compared == 0:  # a PASS that judged nothing would hide it
        raise common.UsageError(
            f"gate compared nothing: {args.results} ({len(current['items'])} items) and the baseline "
            f"{args.baseline} ({len(baseline['items'])} items) have no item in common; check that "
            "both come from the same job (item paths, --root) or accept these results with --update")
    _emit(results, result, args)
    if args.update:
        try:
            write_baseline(args.baseline, current)
        except BaselineError as e:
            raise common.UsageError(str(e)) from None
        kept = f" (previous kept as {previous_path(args.baseline)})" if have_baseline else ""
        accepted = len(result.failures)
        print(f"audio-qa gate: baseline {args.baseline} updated from {args.results}{kept}"
              + (f"; {accepted} regression(s) accepted" if accepted else ""), file=sys.stderr)
        return common.EXIT_OK
    return common.EXIT_OK if result.passed else common.EXIT_FAIL


def _emit(results: dict, result: GateResult, args: argparse.Namespace) -> None:
    out = dict(results)
    out["gate"] = result.to_dict(args.baseline)
    text = json.dumps(out, indent=2, allow_nan=False) + "\n"
    common.write_reports(out, args, json_text=text)
    if args.json != "-":
        print(summarize(result, verbose=args.verbose))


def summarize(result: GateResult, *, verbose: bool = False) -> str:
    lines = []
    for r in result.rows:
        if r.verdict == "unchanged" and not verbose:
            continue
        base = "-" if r.baseline is None else r.baseline
        cur = "-" if r.current is None else r.current
        lines.append(f"{_MARK[r.verdict]:10s} {r.item}  {r.metric}: {base} -> {cur}  ({r.message})")
    counts = result.counts()
    parts = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    lines.append(f"gate: {parts or 'nothing compared'} -> {'PASS' if result.passed else 'FAIL'}")
    return "\n".join(lines)
