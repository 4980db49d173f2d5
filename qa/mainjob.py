"""The main QA job behind ``nox -s audio_qa``: the whole QA in one command, gated against the
baseline committed in the repository.

    nox -s audio_qa                                   # run, gate, report; non-zero on failure
    nox -s audio_qa -- --update-baseline              # accept this run as fixtures/baseline.json
    nox -s audio_qa -- --fault nan_normalize --scenario pop_en_10s   # prove a fault is caught

Steps, each through the CLI of its piece (in process, ``qa.cli.main``), results under
``qa-artifacts/`` (or ``$AUDIO_QA_ARTIFACTS``):

1. ``audio-qa doctor``            backends and timed saves              -> doctor.json
2. ``audio-qa run`` per scenario  the pipeline under the stage probes   -> run-SCENARIO.json, run/
3. ``audio-qa check``             fixtures/audio (default profile)       -> check.json
   ``audio-qa check --profile streaming``  the pipeline outputs (masters)  -> check-outputs.json
4. ``audio-qa roundtrip``         codec round trips of a fixture song   -> roundtrip.json
5. ``audio-qa serve`` + ``probe`` the reference service, probed end to end and stopped -> probe.json
6. every item in one report, the gate against fixtures/baseline.json    -> results.json ("gate")
7. ``audio-qa report``            HTML and JUnit                         -> report.html, junit.xml

The fixtures and the baseline are read from the checkout, or, for an installed audio-qa, from
the copy the wheel installs under ``<prefix>/share/audio-qa`` (same relative paths, so the
baseline's item names are the same). Exit status: 0 all good, 1 a check failed or the gate
found a regression, 2 a step could not run (usage or environment error).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

from qa.atomic import write_atomic
from qa.loading import iter_audio_paths
from qa.cli import main as cli_main


def _data_root() -> Path:
    """The folder holding ``fixtures/``: the checkout, else the wheel's shared data."""
    checkout = Path(__file__).resolve().parent.parent
    candidates = [checkout] + [Path(sysconfig.get_path("data", scheme)) / "share" / "audio-qa"
                               for scheme in sysconfig.get_scheme_names()
                               if scheme in (sysconfig.get_default_scheme(), f"{os.name}_user")]
    for root in candidates:
        if (root / "fixtures" / "baseline.json").is_file():
            return root
    return checkout


ROOT = _data_root()
ARTIFACTS = Path(os.environ.get("AUDIO_QA_ARTIFACTS", "qa-artifacts")).absolute()
BASELINE = ROOT / "fixtures" / "baseline.json"
FIXTURE_AUDIO = ROOT / "fixtures" / "audio"
#: Codec round trips of the main job: lossless, a mid and a low lossy bitrate.
ROUNDTRIP_SOURCE = FIXTURE_AUDIO / "song_pop_10s.flac"
ROUNDTRIP_CODECS = ["flac", "mp3:128", "opus:64"]
#: The reference pipeline's master stage targets -14 LUFS / -1 dBTP: its outputs are gated as
#: streaming masters (the fixtures and everything else get the default, fault-finding profile).
OUTPUT_PROFILE = "streaming"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="nox -s audio_qa --", description=__doc__.split("\n\n")[0])
    p.add_argument("--update-baseline", action="store_true",
                   help=f"accept this run as the new baseline ({BASELINE.relative_to(ROOT)})")
    p.add_argument("--baseline", type=Path, default=BASELINE, help="baseline file (default: %(default)s)")
    p.add_argument("--fault", metavar="NAME", help="inject this fault (see `audio-qa run --list-faults`)")
    p.add_argument("--scenario", metavar="NAME", help="the scenario that gets --fault (default: the first)")
    p.add_argument("--out", type=Path, default=ARTIFACTS, help="artifacts directory (default: %(default)s)")
    args = p.parse_args(argv)
    if args.scenario and not args.fault:
        p.error("--scenario chooses where --fault goes; give --fault NAME too")
    return args


class Job:
    """Runs the steps, remembers their exit codes and the result files they wrote."""

    def __init__(self, out: Path):
        self.out = out
        self.steps: list[tuple[str, str, float]] = []  # (name, "ok"/"fail"/"error", seconds)
        self.result_files: list[Path] = []

    def cli(self, step: str, argv: list[str], json_out: Path | None = None) -> int:
        print(f"audio-qa main job: {step}: audio-qa {' '.join(argv)}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        if json_out is not None:
            argv = [*argv, "--json", str(json_out)]
        rc = cli_main(argv)
        status = {0: "ok", 1: "fail"}.get(rc, "error")
        if json_out is not None and not json_out.is_file():
            status = "error"
            print(f"audio-qa main job: {step} wrote no {json_out}", file=sys.stderr)
        elif json_out is not None:
            self.result_files.append(json_out)
        self.steps.append((step, status, time.perf_counter() - t0))
        return rc


def scenarios(job: Job) -> list[str]:
    """Scenario names from ``audio-qa run --list-faults --json FILE``."""
    listing = job.out / "run-list.json"
    rc = cli_main(["run", "--list-faults", "--json", str(listing)])
    if rc != 0:
        raise SystemExit(f"audio-qa main job: `audio-qa run --list-faults` exited {rc}")
    return [s["name"] for s in json.loads(listing.read_text())["scenarios"]]


def service_step(job: Job, out: Path) -> None:
    """Start the reference service (``audio-qa serve`` in a subprocess), probe it three times,
    stop it. The item is labelled so the gate knows it whatever port the service got."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with open(out / "serve.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--port", "0"], stdout=subprocess.PIPE,
                                stderr=log, text=True, env=env)
        try:
            url = proc.stdout.readline().strip()
            if not url.startswith("http://"):
                print(f"audio-qa main job: audio-qa serve printed no URL (see {out / 'serve.log'})", file=sys.stderr)
                job.steps.append(("service probe", "error", 0.0))
                return
            job.cli("service probe", ["probe", url, "--adapter", "diffrhythm", "--runs", "3", "--wait-ready", "300",
                                      "--label", "reference-service/diffrhythm", "--prom", str(out / "probe.prom")],
                    out / "probe.json")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()


def combine(files: list[Path]) -> dict[str, Any]:
    """One report from the result files of the steps (items in step order)."""
    from qa.cli.common import environment
    from qa.results import SCHEMA, worst_status
    from qa import __version__

    items: list[dict[str, Any]] = []
    for f in files:
        items.extend(json.loads(f.read_text())["items"])
    worst = worst_status(i["status"] for i in items)
    status = {"skip": "pass", "error": "fail"}.get(worst, worst)
    return {"schema": SCHEMA, "tool": {"name": "audio-qa", "version": __version__},
            "status": status, "environment": environment(), "items": items}


def gate_view(results: dict[str, Any], out: Path) -> dict[str, Any]:
    """The results with paths as the baseline names them: ``qa-artifacts/...`` for outputs
    wherever the artifacts went, repository-relative for files of the checkout."""
    def rel(p: str) -> str:
        for base, prefix in ((out.resolve(), "qa-artifacts/"), (ROOT, "")):
            try:
                return prefix + Path(p).resolve().relative_to(base).as_posix()
            except ValueError:
                continue
        return p

    return {**results, "items": [{**i, "path": rel(i["path"])} for i in results["items"]]}


def run_gate(results: dict[str, Any], args: argparse.Namespace) -> tuple[dict[str, Any] | None, bool]:
    """Gate against the baseline (or replace it with --update-baseline). Returns the "gate"
    value for the report and whether the gate passed."""
    from qa.baseline import load_baseline, snapshot, write_baseline
    from qa.cli.gate import summarize
    from qa.gate import compare, tolerances_from_profile
    from qa.profiles import load_profile

    view = gate_view(results, args.out)
    shown = os.path.relpath(args.baseline, ROOT)
    if args.update_baseline:
        write_baseline(args.baseline, snapshot(view, source="nox -s audio_qa"))
        print(f"audio-qa main job: baseline {shown} updated "
              f"(previous kept as {shown}.prev; commit the new one)", file=sys.stderr)
        return None, True
    if not args.baseline.is_file():
        print(f"audio-qa main job: no baseline at {shown}; create it with "
              "`nox -s audio_qa -- --update-baseline`", file=sys.stderr)
        return None, False
    result = compare(load_baseline(args.baseline), view, tolerances_from_profile(load_profile()))
    print(summarize(result), file=sys.stderr)
    return result.to_dict(shown), result.passed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    out: Path = args.out
    for sub in ("run", "doctor"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    job = Job(out)

    job.cli("doctor", ["doctor", "--output-dir", str(out / "doctor")], out / "doctor.json")

    names = scenarios(job)
    target = args.scenario or names[0]
    if args.fault and target not in names:
        print(f"audio-qa main job: --scenario {target!r} is not a scenario; known: "
              f"{', '.join(names)}", file=sys.stderr)
        return 2
    for name in names:
        argv = ["run", "--scenario", name, "--out", str(out / "run"), "--profile", OUTPUT_PROFILE]
        if args.fault and name == target:
            argv += ["--fault", args.fault]
        job.cli(f"run {name}", argv, out / f"run-{name}.json")
    outputs = iter_audio_paths([str(out / "run")])  # the songs, not the folder's ledger

    job.cli("file checks", ["check", str(FIXTURE_AUDIO)], out / "check.json")
    if outputs:  # the pipeline's masters are judged against their delivery target
        job.cli("output checks", ["check", "--profile", OUTPUT_PROFILE, *outputs],
                out / "check-outputs.json")

    codecs = [a for c in ROUNDTRIP_CODECS for a in ("--codec", c)]
    job.cli("codec round trips", ["roundtrip", str(ROUNDTRIP_SOURCE), *codecs], out / "roundtrip.json")

    service_step(job, out)

    results = combine(job.result_files)
    gate, gate_ok = run_gate(results, args)
    if gate is not None:
        results["gate"] = gate
    results_path = out / "results.json"
    write_atomic(results_path, json.dumps(results, indent=2, allow_nan=False) + "\n")

    html = out / "report.html"
    rc = job.cli("report", ["report", str(results_path), "--html", str(html), "--junit", str(out / "junit.xml")])
    if rc == 1 and html.is_file():  # written; its exit 1 only repeats that results failed
        job.steps[-1] = ("report", "ok", job.steps[-1][2])

    return finish(job, results, gate_ok, results_path, html, time.perf_counter() - t0)


def finish(job: Job, results: dict, gate_ok: bool, results_path: Path, html: Path, seconds: float) -> int:
    print("\naudio-qa main job:", file=sys.stderr)
    for name, status, secs in job.steps:
        print(f"  {status.upper():5s} {name} ({secs:.1f} s)", file=sys.stderr)
    bad_items = [i for i in results["items"] if i["status"] in ("fail", "error")]
    for i in bad_items:
        where = f" (first bad stage: {i['first_bad_stage']})" if i.get("first_bad_stage") else ""
        failing = [c["id"] for c in i.get("checks", []) if c["status"] in ("fail", "error")]
        print(f"  FAIL  {i['kind']} {i['path']}{where}: {', '.join(failing)}", file=sys.stderr)
    print(f"  gate: {'PASS' if gate_ok else 'FAIL'}; {len(results['items'])} items, "
          f"{len(bad_items)} failing; {seconds:.1f} s", file=sys.stderr)
    print(f"results: {results_path}")
    print(f"HTML report: {html}" if html.is_file() else "HTML report: not rendered (see the report step)")
    if any(s == "error" for _, s, _ in job.steps):
        return 2
    return 1 if bad_items or not gate_ok else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
