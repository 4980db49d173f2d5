"""The corpus gate: exact values of its test statistic, and a real corpus with a fault injected
into 5 % of its files fails while a rerun of the same corpus passes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qa.profiles import load_profile
from qa.scan.gate import compare_corpus, corpus_settings, ks_critical, ks_statistic
from qa.gate import tolerances_from_profile
from qa.scan.summary import distribution
from tests.conftest import run_cli
from tests.scan.corpus import write_corpus


def test_ks_statistic_on_shifted_uniform_quantiles():
    q = np.arange(101) * 0.25  # exact in binary, so shifted points coincide exactly
    assert ks_statistic(list(q), list(q)) == 0.0
    # shifted by half the range: at x = 12.5, F1 = 51/101 of the points and F2 = 1/101
    assert ks_statistic(list(q), list(q + 12.5)) == pytest.approx(50 / 101, rel=1e-12)
    assert ks_statistic(list(q), list(q + 26.0)) == 1.0


def test_ks_critical_value_matches_the_published_coefficient():
    # c(0.05) = 1.358 and c(0.001) = 1.949 in the two-sample KS tables
    assert ks_critical(100, 100, 0.05) == pytest.approx(1.358 * math.sqrt(2 / 100), rel=1e-3)
    assert ks_critical(40, 40, 0.001) == pytest.approx(1.949 * math.sqrt(2 / 40), rel=1e-3)


def _summary(values, clip_fails=0, files=100):
    return {"checks": {"clipping": {"fail": clip_fails, "error": 0, "warn": 0, "fail_rate": clip_fails / files,
                                    "warn_rate": 0.0}},
            "metrics": {"crest_db": distribution(list(values), 0)}}


def _gate(b, c):
    p = load_profile()
    return compare_corpus(b, c, tolerances_from_profile(p), corpus_settings(p.section("gate")))


def test_direction_aware_percentiles_and_rates():
    rng = np.random.default_rng(1)
    base = rng.normal(12.0, 2.0, 400)
    rows = {r.metric: r for r in _gate(_summary(base), _summary(base - 0.5, clip_fails=1)).rows}
    # crest is higher_is_better: a 0.5 dB lower median regresses beyond its 0.2 dB tolerance
    assert rows["crest_db.p50"].verdict == "regressed" and rows["crest_db.p50"].delta == pytest.approx(-0.5, abs=1e-5)  # 7 digits kept
    # 1 % more clipped files: beyond max(0.005, 0.25 * 0) = 0.005
    assert rows["clipping.fail_rate"].verdict == "regressed" and rows["clipping.fail_rate"].tolerance == 0.005
    # 0.5 dB of a 2 dB spread is D ~ 0.1: below ks_min_d, no distribution alarm on its own
    assert rows["crest_db.ks"].verdict == "unchanged"
    up = {r.metric: r for r in _gate(_summary(base), _summary(base + 0.5)).rows}
    assert up["crest_db.p50"].verdict == "improved"


def test_ks_flags_a_changed_shape_with_the_same_median():
    rng = np.random.default_rng(2)
    base = rng.normal(12.0, 1.0, 400)
    wide = 12.0 + 3.0 * (base - 12.0)  # same median, three times the spread
    row = next(r for r in _gate(_summary(base), _summary(wide)).rows if r.metric == "crest_db.ks")
    assert row.verdict == "regressed" and row.current > row.tolerance >= 0.1
    assert "the distribution moved" in row.message


def test_fault_in_five_percent_fails_and_a_rerun_passes(tmp_path):
    good = tmp_path / "good"
    write_corpus(good, 40, broken=0)
    run1, run2, run3 = tmp_path / "r1", tmp_path / "r2", tmp_path / "r3"
    for run in (run1, run2):
        run_cli("scan", str(good), "--out", str(run), "--jobs", "2", "--shard-size", "10")
    base = tmp_path / "corpus-baseline.json"
    r = run_cli("gate", str(run1), "--baseline", str(base), "--update")
    assert r.returncode == 0, r.stderr
    assert json.loads(base.read_text())["schema"] == "audio-qa.corpus/1"
    r = run_cli("gate", str(run2), "--baseline", str(base))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "REGRESSED" not in r.stdout and "-> PASS" in r.stdout
    faulty = tmp_path / "faulty"
    write_corpus(faulty, 40, broken=0, clipped=(7, 23))  # 2 of 40 files: 5 %
    run_cli("scan", str(faulty), "--out", str(run3), "--jobs", "2", "--shard-size", "10")
    r = run_cli("gate", str(run3), "--baseline", str(base), "--json", str(tmp_path / "g.json"))
    assert r.returncode == 1, r.stdout + r.stderr
    rows = {x["metric"]: x for x in json.loads((tmp_path / "g.json").read_text())["gate"]["rows"]}
    clip = rows["clipping.fail_rate"]
    assert clip["verdict"] == "regressed" and clip["baseline"] == 0.0 and clip["current"] == 0.05
    assert clip["current"] - clip["baseline"] > clip["tolerance"]
    assert "REGRESSED  corpus  clipping.fail_rate: 0.0 -> 0.05" in r.stdout


def test_unfinished_run_dir_is_a_usage_error(tmp_path):
    c = tmp_path / "c"
    write_corpus(c, 4, broken=0)
    run_cli("scan", str(c), "--out", str(tmp_path / "r"), "--shard-size", "2", "--shard", "1/2")
    r = run_cli("gate", str(tmp_path / "r"), "--baseline", str(tmp_path / "b.json"), "--update")
    assert r.returncode == 2
    assert "the scan is not finished (1 of 2 shards done)" in r.stderr


def test_the_gate_takes_the_scans_own_profile(tmp_path):
    c = tmp_path / "c"
    write_corpus(c, 4, broken=0)
    run = tmp_path / "r"
    run_cli("scan", str(c), "--out", str(run), "--profile", "streaming")
    base = tmp_path / "b.json"
    r = run_cli("gate", str(run), "--baseline", str(base), "--update")  # no --profile: streaming's
    assert r.returncode == 0, r.stderr
    r = run_cli("gate", str(run), "--baseline", str(base), "--profile", "generic")
    assert r.returncode == 2
    assert (f"--profile generic: the scan in {run} was judged with profile streaming; gate it with "
            "its own (omit --profile)") in r.stderr
