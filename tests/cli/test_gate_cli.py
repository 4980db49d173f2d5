"""`audio-qa gate` as a real subprocess on real check results: pass, regression, --update,
unusable inputs, and the "gate" key in the JSON."""

import json

import numpy as np
import soundfile as sf

from tests.conftest import ROOT, run_cli

SONG = ROOT / "fixtures" / "audio" / "song_pop_10s.flac"


def _check(tmp_path, gain=1.0, name="r.json"):
    x, sr = sf.read(SONG)
    sf.write(tmp_path / "song.wav", np.clip(x * gain, -1, 1), sr, subtype="PCM_16")
    r = run_cli("check", "song.wav", "--json", name, cwd=tmp_path)
    assert r.returncode in (0, 1), r.stderr
    return tmp_path / name


def test_gate_pass_then_regression_then_update(tmp_path):
    _check(tmp_path)
    r = run_cli("gate", "r.json", "--baseline", "base.json", cwd=tmp_path)
    assert r.returncode == 2
    assert "base.json: no such file; create it from these results with" in r.stderr

    r = run_cli("gate", "r.json", "--baseline", "base.json", "--update", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    base = json.loads((tmp_path / "base.json").read_text())
    assert base["items"]["file:song.wav"]["checks"]["clipping"] == "pass"

    r = run_cli("gate", "r.json", "--baseline", "base.json", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("-> PASS")

    # the same song pushed 12 dB into the rails: clipping newly fails, levels move
    _check(tmp_path, gain=4.0, name="r2.json")
    r = run_cli("gate", "r2.json", "--baseline", "base.json", "--json", "g.json", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "REGRESSED  file:song.wav  check:clipping: pass -> fail" in r.stdout
    out = json.loads((tmp_path / "g.json").read_text())
    assert out["schema"] == "audio-qa.report/1" and out["gate"]["status"] == "fail"
    rows = {(x["item"], x["metric"]): x for x in out["gate"]["rows"]}
    crest = rows[("file:song.wav", "crest_db")]
    assert crest["verdict"] == "regressed" and crest["delta"] < -0.2
    assert rows[("file:song.wav", "check:clipping")]["verdict"] == "regressed"

    # accept it: the old baseline is kept as .prev, and the gate passes again
    old = (tmp_path / "base.json").read_bytes()
    r = run_cli("gate", "r2.json", "--baseline", "base.json", "--update", cwd=tmp_path)
    assert r.returncode == 0
    assert "regression(s) accepted" in r.stderr
    assert (tmp_path / "base.json.prev").read_bytes() == old
    assert run_cli("gate", "r2.json", "--baseline", "base.json", cwd=tmp_path).returncode == 0


def test_unusable_inputs_exit_2(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    r = run_cli("gate", "bad.json", "--baseline", "b.json", cwd=tmp_path)
    assert r.returncode == 2 and "results bad.json: not valid JSON" in r.stderr
    (tmp_path / "other.json").write_text('{"schema": "x/1", "items": []}')
    r = run_cli("gate", "other.json", "--baseline", "b.json", "--update", cwd=tmp_path)
    assert r.returncode == 2 and "results schema is 'x/1'" in r.stderr
    _check(tmp_path)
    (tmp_path / "b.json").write_text('{"items": []}')
    r = run_cli("gate", "r.json", "--baseline", "b.json", cwd=tmp_path)
    assert r.returncode == 2 and "baseline b.json: schema is None" in r.stderr
    assert not (tmp_path / "b.json.prev").exists()


def test_gate_that_compares_nothing_is_a_usage_error(tmp_path):
    _check(tmp_path)
    r = run_cli("gate", "r.json", "--baseline", "base.json", "--update", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (tmp_path / "other").mkdir()
    (tmp_path / "song.wav").rename(tmp_path / "other" / "song.wav")
    r = run_cli("check", "other/song.wav", "--json", "moved.json", cwd=tmp_path)
    r = run_cli("gate", "moved.json", "--baseline", "base.json", "--allow-missing", cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "gate compared nothing: moved.json (1 items) and the baseline base.json (1 items) have " \
           "no item in common" in r.stderr
    assert "PASS" not in r.stdout
