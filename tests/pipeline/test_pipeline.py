"""End to end: clean scenarios pass every stage and file check; every fault is caught at its
stage. Real torch, real files, real `python -m qa run` subprocesses for the CLI contract."""

import json

import numpy as np
import pytest
import soundfile as sf

from audioqa_pipeline.faults import FAULTS
from audioqa_pipeline.run import LEDGER
from tests.conftest import run_cli


def run_json(tmp_path, *args):
    r = run_cli("run", "--out", str(tmp_path), "--steps", "8", "--save-timeout", "3", "--json", "-", *args)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)["items"][0]


def run_inproc(capsys, tmp_path, *args):
    """``audio-qa run`` in this process (the CLI's own main): the per-fault tests need the
    pipeline, not a fresh interpreter importing torch each time; the subprocess contract is
    :func:`run_json`'s."""
    from qa.cli import main

    capsys.readouterr()
    code = main(["run", "--out", str(tmp_path), "--steps", "8", "--save-timeout", "3", "--json", "-", *args])
    assert code in (0, 1), capsys.readouterr().err
    return code, json.loads(capsys.readouterr().out)["items"][0]


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
def test_fault_caught_at_its_stage(tmp_path, capsys, fault):
    code, item = run_inproc(capsys, tmp_path, "--fault", fault)
    assert code == 1
    assert item["injected_fault"] == {"name": fault, "stage": FAULTS[fault].stage}
    assert item["first_bad_stage"] == FAULTS[fault].stage, item["checks"][0]["message"]
    fb = item["checks"][0]
    assert fb["id"] == "first_bad_stage" and f"first bad stage '{FAULTS[fault].stage}'" in fb["message"]


@pytest.mark.parametrize("fault, check", [("stuck_loop", "repetition"), ("cut_short", "truncated_end"),
                                          ("late_start", "dead_air"), ("underrun_clicks", "clicks")])
def test_song_fault_caught_at_its_stage_and_by_its_file_check(tmp_path, capsys, fault, check):
    # a 30 s song: truncated_end judges songs (20 s and longer), not clips
    code, item = run_inproc(capsys, tmp_path, "--scenario", "zh_en_30s", "--fault", fault)
    assert code == 1 and item["first_bad_stage"] == FAULTS[fault].stage
    checks = {c["id"]: c for c in item["checks"]}
    c = checks[check]
    assert c["status"] == "fail" and c["value"] >= c["threshold"], c
    if fault != "stuck_loop":
        # seven seconds of dead air, a cut or clicks are not a loop (the dead air once read as
        # one: a float32 running sum over the silent frames cancelled the distances after it)
        assert checks["repetition"]["status"] == "pass", checks["repetition"]


def save_stage(item):
    save = item["stages"][-1]
    assert save["name"] == "save"
    return save, {c["id"]: c for c in save["checks"]}


def test_clean_save_goes_through_save_audio(tmp_path):
    code, item = run_json(tmp_path)
    save, checks = save_stage(item)
    assert checks["save_timeout"]["status"] == "pass" and checks["save_timeout"]["threshold"] == 3
    assert checks["save_roundtrip"]["status"] == "pass"
    assert "PCM_16 written by soundfile, read back and matched" in checks["save_roundtrip"]["message"]
    # no temporary file left; the folder's ledger names the file audio-qa wrote
    assert sorted(p.name for p in tmp_path.iterdir()) == [LEDGER, "pop_en_10s.wav"]
    assert (tmp_path / LEDGER).read_text() == "pop_en_10s.wav\n"
    info = sf.info(item["path"])
    assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_16")


def test_save_hang_is_cut_by_the_child_timeout(tmp_path):
    code, item = run_json(tmp_path, "--fault", "save_hang")
    save, checks = save_stage(item)
    assert [c["id"] for c in save["checks"] if c["status"] == "fail"] == ["stage_stall", "save_timeout"]
    assert "did not finish within 3.0 s: the file had stopped growing (stalled), 4096 bytes written" in \
        checks["save_timeout"]["message"]
    stall = save["stall"]
    assert stall["state"] == "stalled" and stall["bytes_written"] == 4096 and stall["budget_s"] == 3
    assert stall["source"] == "save_audio child process (audioqa_pipeline.writers:stalled_writer)"
    assert "watchdog" not in stall
    stack = stall["threads"][0]["stack"]
    assert any(line.endswith("in stalled_writer") for line in stack), stack
    assert 3 <= save["seconds"] < 3 + 10  # cut by the writer's timeout, inside the stage budget
    assert item["path"] == "pop_en_10s" and list(tmp_path.iterdir()) == []  # nothing half-written


def test_truncated_write_caught_by_read_back(tmp_path):
    code, item = run_json(tmp_path, "--fault", "truncated_write")
    save, checks = save_stage(item)
    msg = checks["save_roundtrip"]["message"]
    assert checks["save_roundtrip"]["status"] == "fail"
    # 10 s = 216 latent frames x 2048 samples = 442368 frames; 60 % of its 4-byte frames remain
    assert "audioqa_pipeline.writers:truncating_writer: failed (read back 265420 frames, expected 442368)" \
        in msg, msg
    assert list(tmp_path.iterdir()) == []  # the bad temporary file was removed, never renamed in


def test_int16_as_float_refused_at_save(tmp_path):
    code, item = run_json(tmp_path, "--fault", "int16_as_float")
    save, checks = save_stage(item)
    assert checks["stage_range"]["status"] == "fail"
    msg = checks["save_roundtrip"]["message"]
    assert checks["save_roundtrip"]["status"] == "fail" and "refused before writing" in msg
    assert "over full scale (1.0)" in msg and "divide by 32768" in msg
    assert item["path"] == "pop_en_10s" and list(tmp_path.iterdir()) == []


def test_wrong_sample_rate_caught_by_stage_and_file_check(tmp_path):
    code, item = run_json(tmp_path, "--fault", "wrong_sample_rate")
    save, checks = save_stage(item)
    assert checks["stage_sample_rate"]["status"] == "fail" and checks["save_roundtrip"]["status"] == "pass"
    file_sr = next(c for c in item["checks"] if c["id"] == "sample_rate")
    assert file_sr["status"] == "fail" and file_sr["value"] == 48000 and file_sr["threshold"] == 44100


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
