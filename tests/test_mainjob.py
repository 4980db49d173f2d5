"""The main job (`nox -s audio_qa`) as a real subprocess: passes against a baseline, fails on a
regression, refreshes the baseline, and fails on a fault naming the stage and the check."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def mainjob(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "qa.mainjob", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_committed_baseline_passes_and_a_regression_fails(tmp_path, capsys):
    out, base = tmp_path / "art", tmp_path / "baseline.json"
    r = mainjob("--out", str(out))  # the baseline committed in fixtures/
    assert r.returncode == 0, r.stderr
    assert "gate: PASS" in r.stderr
    assert r.stdout.splitlines()[-1].startswith("HTML report: ")
    for step in ("doctor", "run pop_en_10s", "file checks", "codec round trips", "service probe", "report"):
        assert f"OK    {step} (" in r.stderr, r.stderr
    # the service step: the reference service probed, its phases in the report
    from bs4 import BeautifulSoup

    probe = json.loads((out / "probe.json").read_text())["items"][0]
    assert probe["path"] == "reference-service/diffrhythm" and probe["error_class"] is None
    sec = BeautifulSoup((out / "report.html").read_text(), "html.parser").find(id="section-probe")
    assert "no error" in sec.find(class_="verdict").text
    shown = {tr["data-phase"]: tr.find_all("td")[1].text for tr in sec.select("tr[data-phase]")}
    assert float(shown["total_s"]) == pytest.approx(probe["phases"]["total_s"], rel=1e-3)

    # The gate of the main job on those results, in this process (each further job would cost
    # another 45 s and run the same code): --update-baseline writes a baseline, a regression
    # against it fails the job.
    from qa.mainjob import Job, finish, parse_args, run_gate

    results = json.loads((out / "results.json").read_text())
    results.pop("gate")
    gate, ok = run_gate(results, parse_args(["--out", str(out), "--baseline", str(base), "--update-baseline"]))
    assert gate is None and ok
    data = json.loads(base.read_text())
    key = "file:fixtures/audio/song_pop_10s.flac"
    assert data["items"][key]["checks"]["clipping"] == "pass"

    # pretend the baseline had 1 dB more crest factor and a failing check that now passes
    data["items"][key]["metrics"]["crest_db"] += 1.0
    data["items"][key]["checks"]["clipping"] = "fail"
    base.write_text(json.dumps(data))
    gate, ok = run_gate(results, parse_args(["--out", str(out), "--baseline", str(base)]))
    assert not ok and gate["counts"]["regressed"] == 1
    rows = {(x["item"], x["metric"]): x for x in gate["rows"]}
    assert rows[(key, "crest_db")]["verdict"] == "regressed"
    assert rows[(key, "crest_db")]["delta"] == pytest.approx(-1.0, abs=1e-6)
    assert rows[(key, "check:clipping")]["verdict"] == "improved"
    results["gate"] = gate
    assert finish(Job(out), results, ok, out / "results.json", out / "report.html", 0.0) == 1
    assert "gate: FAIL" in capsys.readouterr().err


def test_forced_fault_fails_naming_stage_and_check_and_a_missing_baseline_names_the_fix(tmp_path):
    # one job for both (each costs a whole main job): a faulted run against no baseline
    out = tmp_path / "art"
    listing = subprocess.run([sys.executable, "-m", "qa", "run", "--list-faults", "--json", "-"],
                             cwd=ROOT, capture_output=True, text=True, check=True)
    faults = json.loads(listing.stdout)
    fault = faults["faults"][0]
    scenario = faults["scenarios"][0]["name"]
    r = mainjob("--out", str(out), "--fault", fault["name"], "--scenario", scenario,
                "--baseline", str(tmp_path / "none.json"))
    assert r.returncode == 1, r.stderr
    assert "create it with `nox -s audio_qa -- --update-baseline`" in r.stderr
    assert f"(first bad stage: {fault['stage']})" in r.stderr
    items = json.loads((out / "results.json").read_text())["items"]
    run = [i for i in items if i.get("injected_fault")][0]
    assert run["first_bad_stage"] == fault["stage"]
