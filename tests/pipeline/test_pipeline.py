"""End to end: clean scenarios pass every stage and file check; every fault is caught at its
stage. Real torch, real files, real `python -m qa run` subprocesses for the CLI contract."""

import json

import numpy as np
import pytest
import soundfile as sf

from pipeline.faults import FAULTS
from tests.conftest import run_cli


def run_json(tmp_path, *args):
    r = run_cli("run", "--out", str(tmp_path), "--steps", "8", "--save-timeout", "3", "--json", "-", *args)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)["items"][0]


@pytest.mark.parametrize("scenario,extra", [("pop_en_10s", []), ("instrumental_15s", []),
                                            ("zh_en_30s", ["--chunked"])])
def test_clean_scenario_passes_everything(tmp_path, scenario, extra):
    code, item = run_json(tmp_path, "--scenario", scenario, *extra)
    bad = [(c["id"], c["message"]) for c in item["checks"] if c["status"] != "pass" and c["status"] != "skip"]
    assert code == 0 and item["status"] == "pass", bad
    assert item["first_bad_stage"] is None
    assert [s["name"] for s in item["stages"]] == ["lyrics_tokens", "style_embed", "sample", "vae_decode",
                                                  "rearrange", "normalize", "master", "to_pcm", "save"]
    assert all(s["status"] == "pass" for s in item["stages"])
    dec = item["stages"][3]
    assert dec["shape"][1:] == [2, item["frames"]] and item["sample_rate"] == 44100


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_caught_at_its_stage(tmp_path, fault):
    code, item = run_json(tmp_path, "--fault", fault)
    assert code == 1
    assert item["injected_fault"] == {"name": fault, "stage": FAULTS[fault].stage}
    assert item["first_bad_stage"] == FAULTS[fault].stage, item["checks"][0]["message"]
    fb = item["checks"][0]
    assert fb["id"] == "first_bad_stage" and f"first bad stage '{FAULTS[fault].stage}'" in fb["message"]


def test_save_hang_is_cut_and_attributed(tmp_path):
    code, item = run_json(tmp_path, "--fault", "save_hang")
    save = item["stages"][-1]
    assert [c["id"] for c in save["checks"] if c["status"] == "fail"][:2] == ["stage_stall", "save_timeout"]
    stacks = "\n".join("\n".join(t["stack"]) for t in save["stall"]["threads"])
    assert "save_audio" in stacks or "write_wav" in stacks


def test_same_seed_same_audio_other_seed_differs(tmp_path):
    paths = []
    for seed, sub in ((0, "a"), (0, "b"), (1, "c")):
        code, item = run_json(tmp_path / sub, "--seed", str(seed))
        paths.append(item["path"])
    a, b, c = (sf.read(p)[0] for p in paths)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_list_faults_contract():
    r = run_cli("run", "--list-faults", "--json", "-")
    doc = json.loads(r.stdout)
    assert r.returncode == 0
    assert [f["name"] for f in doc["faults"]] == list(FAULTS)
    assert {"name": "pop_en_10s", "duration_s": 10.0} in doc["scenarios"]
    assert any(s["duration_s"] == 95.0 for s in doc["scenarios"])
