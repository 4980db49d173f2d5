"""The gate's rules on hand-made results: tolerances, directions, checks, nulls, new/missing."""

import pytest

from qa.baseline import snapshot
from qa.gate import Tolerance, ToleranceError, compare, tolerances_from_profile, tolerances_from_table
from qa.profiles import load_profile

TOL = {
    "integrated_lufs": Tolerance("two_sided", abs=0.1),
    "crest_db": Tolerance("higher_is_better", abs=0.2),
    "clipped_fraction": Tolerance("lower_is_better", abs=1e-5),
    "bandwidth_hz": Tolerance("higher_is_better", rel=0.02),
    "unlisted": Tolerance("two_sided", abs=1e-9, rel=0.001),
}


def report(*items):
    return {"schema": "audio-qa.report/1", "status": "pass", "items": list(items)}


def item(path="song.flac", metrics=None, checks=None, notes=(), **extra):
    checks = checks or {"clipping": "pass"}
    return {"kind": "file", "path": path, "status": "pass", "metrics": dict(metrics or {}),
            "checks": [{"id": k, "status": v, "message": ""} for k, v in checks.items()],
            "notes": list(notes), **extra}


def gate(base_items, cur_items, **kw):
    base = snapshot(report(*base_items))
    return compare(base, report(*cur_items), TOL, **kw)


def row(result, metric, item_key="file:song.flac"):
    (r,) = [r for r in result.rows if r.metric == metric and r.item == item_key]
    return r


def test_within_tolerance_is_unchanged():
    g = gate([item(metrics={"integrated_lufs": -14.0})], [item(metrics={"integrated_lufs": -14.09})])
    r = row(g, "integrated_lufs")
    assert (r.verdict, r.tolerance) == ("unchanged", 0.1)
    assert r.delta == pytest.approx(-0.09)
    assert g.passed


def test_two_sided_beyond_tolerance_regresses_either_way():
    for cur in (-13.85, -14.15):
        g = gate([item(metrics={"integrated_lufs": -14.0})], [item(metrics={"integrated_lufs": cur})])
        r = row(g, "integrated_lufs")
        assert r.verdict == "regressed"
        assert "beyond ±0.1" in r.message
        assert not g.passed


def test_directional_metric_improves_one_way_and_regresses_the_other():
    up = gate([item(metrics={"crest_db": 12.0})], [item(metrics={"crest_db": 12.5})])
    down = gate([item(metrics={"crest_db": 12.0})], [item(metrics={"crest_db": 11.5})])
    assert row(up, "crest_db").verdict == "improved" and up.passed
    assert row(down, "crest_db").verdict == "regressed" and not down.passed
    assert row(down, "crest_db").delta == pytest.approx(-0.5)
    # lower is better: less clipping improves
    less = gate([item(metrics={"clipped_fraction": 0.01})], [item(metrics={"clipped_fraction": 0.0})])
    assert row(less, "clipped_fraction").verdict == "improved"


def test_relative_tolerance_scales_with_the_baseline():
    # 2 % of 16000 Hz is 320 Hz: 15700 is inside, 15600 is a regression
    ok = gate([item(metrics={"bandwidth_hz": 16000.0})], [item(metrics={"bandwidth_hz": 15700.0})])
    bad = gate([item(metrics={"bandwidth_hz": 16000.0})], [item(metrics={"bandwidth_hz": 15600.0})])
    assert row(ok, "bandwidth_hz").verdict == "unchanged"
    assert row(ok, "bandwidth_hz").tolerance == pytest.approx(320.0)
    assert row(bad, "bandwidth_hz").verdict == "regressed"


def test_unlisted_metric_uses_the_unlisted_tolerance():
    g = gate([item(metrics={"new_metric": 100.0})], [item(metrics={"new_metric": 100.2})])
    assert row(g, "new_metric").verdict == "regressed"
    assert row(g, "new_metric").tolerance == pytest.approx(0.1)


def test_newly_failing_check_regresses_whatever_the_tolerance():
    # the metric barely moved (inside its tolerance) but the check crossed into fail
    g = gate([item(metrics={"clipped_fraction": 0.000995}, checks={"clipping": "pass"})],
             [item(metrics={"clipped_fraction": 0.001001}, checks={"clipping": "fail"})])
    assert row(g, "clipped_fraction").verdict == "unchanged"
    r = row(g, "check:clipping")
    assert (r.baseline, r.current, r.verdict) == ("pass", "fail", "regressed")
    assert "newly failing" in r.message
    assert [f.metric for f in g.failures] == ["check:clipping"]


def test_check_that_stopped_failing_improves_and_warn_needs_strict():
    g = gate([item(checks={"clipping": "fail"})], [item(checks={"clipping": "pass"})])
    assert row(g, "check:clipping").verdict == "improved"
    lax = gate([item(checks={"clipping": "pass"})], [item(checks={"clipping": "warn"})])
    strict = gate([item(checks={"clipping": "pass"})], [item(checks={"clipping": "warn"})], strict=True)
    assert row(lax, "check:clipping").verdict == "unchanged" and lax.passed
    assert "--strict" in row(lax, "check:clipping").message
    assert row(strict, "check:clipping").verdict == "regressed" and not strict.passed


def test_still_failing_check_is_unchanged():
    g = gate([item(checks={"clipping": "fail"})], [item(checks={"clipping": "fail"})])
    assert row(g, "check:clipping").verdict == "unchanged" and g.passed


def test_metric_turning_null_regresses_with_the_reason():
    g = gate([item(metrics={"integrated_lufs": -14.0})],
             [item(metrics={"integrated_lufs": None},
                   notes=["integrated_lufs: n/a, every block is below the -70 LUFS gate",
                          "seg_snr_db: unrelated"])])
    r = row(g, "integrated_lufs")
    assert (r.baseline, r.current, r.verdict) == (-14.0, None, "regressed")
    assert r.message == ("was -14, now null (no value): integrated_lufs: n/a, every block is "
                         "below the -70 LUFS gate")
    # without a note the message says so
    g2 = gate([item(metrics={"integrated_lufs": -14.0})], [item(metrics={"integrated_lufs": None})])
    assert row(g2, "integrated_lufs").message.endswith("the item has no note saying why")


def test_null_in_both_is_unchanged_and_null_to_value_is_new():
    g = gate([item(metrics={"a": None, "b": None})], [item(metrics={"a": None, "b": 3.0})])
    assert row(g, "a").verdict == "unchanged"
    assert row(g, "b").verdict == "new" and g.passed


def test_new_and_missing_items_and_stage_checks():
    run_b = item(path="pop_10s", kind="run",
                 stages=[{"name": "vae_decode", "checks": [{"id": "stage_finite", "status": "pass"}]}])
    run_b["kind"] = "run"
    run_c = dict(run_b, stages=[{"name": "vae_decode",
                                 "checks": [{"id": "stage_finite", "status": "fail"}]}])
    g = gate([item("old.flac"), run_b], [item("fresh.flac"), run_c])
    verdicts = {(r.item, r.metric): r.verdict for r in g.rows}
    assert verdicts[("file:old.flac", "item")] == "missing"
    assert verdicts[("file:fresh.flac", "item")] == "new"
    assert verdicts[("run:pop_10s", "check:vae_decode/stage_finite")] == "regressed"
    assert g.counts() == {"regressed": 1, "missing": 1, "new": 1, "improved": 0, "unchanged": 1}
    # missing fails unless allowed
    only_missing = gate([item("old.flac")], [item("fresh.flac")])
    assert not only_missing.passed
    assert gate([item("old.flac")], [item("fresh.flac")], allow_missing=True).passed


def test_metric_missing_from_results():
    g = gate([item(metrics={"integrated_lufs": -14.0})], [item(metrics={})])
    assert row(g, "integrated_lufs").verdict == "missing" and not g.passed


def test_roundtrip_items_are_told_apart_by_codec():
    a = dict(item("song.flac", metrics={"snr_db": 30.0}), kind="roundtrip", codec="mp3:128")
    b = dict(item("song.flac", metrics={"snr_db": 20.0}), kind="roundtrip", codec="mp3:64")
    g = gate([a, b], [a, dict(b, metrics={"snr_db": 19.0})])
    assert row(g, "snr_db", "roundtrip:song.flac#mp3:128").verdict == "unchanged"
    assert row(g, "snr_db", "roundtrip:song.flac#mp3:64").verdict == "regressed"


def test_rows_serialize_for_the_report():
    g = gate([item(metrics={"crest_db": 12.0})], [item(metrics={"crest_db": 11.0})])
    d = g.to_dict("fixtures/baseline.json")
    assert d["status"] == "fail" and d["baseline"] == "fixtures/baseline.json"
    r = [r for r in d["rows"] if r["metric"] == "crest_db"][0]
    assert set(r) >= {"item", "metric", "baseline", "current", "delta", "verdict", "message"}
    assert (r["baseline"], r["current"], r["verdict"]) == (12.0, 11.0, "regressed")


def test_profile_tolerances_parse_and_bad_tables_are_refused():
    t = tolerances_from_profile(load_profile("streaming"))
    assert t["integrated_lufs"] == Tolerance("two_sided", abs=0.1)
    assert t["crest_db"].direction == "higher_is_better"
    with pytest.raises(ToleranceError, match="direction must be one of"):
        tolerances_from_table({"unlisted": {"abs": 1, "direction": "up"}})
    with pytest.raises(ToleranceError, match="needs an 'unlisted' entry"):
        tolerances_from_table({"x": {"abs": 1, "direction": "two_sided"}})
    with pytest.raises(ToleranceError, match="abs must be a number >= 0"):
        tolerances_from_table({"unlisted": {"abs": -1, "direction": "two_sided"}})
