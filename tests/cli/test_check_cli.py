"""`audio-qa check` as a real subprocess: JSON schema, exit codes, several files, --jobs."""

import json

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import ROOT, run_cli


# Real music mastered to the streaming target (a pure tone would fail over_compression).
SONG, SR = sf.read(ROOT / "fixtures" / "audio" / "song_short_48k.wav")


def _files(tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, SONG, SR, subtype="PCM_16")
    clipped = tmp_path / "clipped.wav"
    sf.write(clipped, np.clip(6 * SONG, -1, 1), SR, subtype="PCM_16")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    return good, clipped, junk


def test_json_to_stdout_schema_and_statuses(tmp_path):
    good, clipped, _ = _files(tmp_path)
    r = run_cli("check", str(good), str(clipped), "--json", "-")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "audio-qa.report/1"
    assert doc["tool"]["name"] == "audio-qa"
    assert doc["status"] == "fail"
    by_path = {i["path"]: i for i in doc["items"]}
    g = by_path[str(good)]
    assert (g["kind"], g["status"], g["sample_rate"], g["channels"], g["frames"]) == ("file", "pass", 48000, 2, 192000)
    x, _ = sf.read(good)
    assert g["metrics"]["rms_dbfs"] == pytest.approx(10 * np.log10(np.mean(x**2)), abs=1e-6)
    c = {x["id"]: x for x in by_path[str(clipped)]["checks"]}["clipping"]
    assert c["status"] == "fail" and c["unit"] == "fraction" and c["threshold"] == 0.001
    assert c["hint"] == "reduce gain before the int16 conversion or use a limiter"
    assert "[2/2]" in r.stderr  # progress on stderr, never in the JSON


def test_all_good_exits_0_and_prints_summary(tmp_path):
    good, _, _ = _files(tmp_path)
    r = run_cli("check", str(good))
    assert r.returncode == 0
    assert r.stdout.strip().endswith("1 item(s): 1 pass -> PASS")


def test_missing_path_exits_2_but_other_files_are_checked(tmp_path):
    good, _, _ = _files(tmp_path)
    r = run_cli("check", str(tmp_path / "gone.wav"), str(good), "--json", "-")
    assert r.returncode == 2
    items = json.loads(r.stdout)["items"]
    assert [i["status"] for i in items] == ["fail", "pass"]
    assert items[0]["checks"][0] == {
        "id": "readable", "status": "fail", "value": None, "threshold": None, "unit": None,
        "message": f"{tmp_path / 'gone.wav'}: no such file",
        "hint": "check the path; directories are walked, globs are expanded by the shell",
    }


def test_unreadable_file_exits_1(tmp_path):
    good, _, junk = _files(tmp_path)
    r = run_cli("check", str(junk), str(good))
    assert r.returncode == 1
    assert f"FAIL  {junk}" in r.stdout


def test_strict_makes_warnings_fail(tmp_path):
    p = tmp_path / "dc.wav"
    sf.write(p, SONG + 0.015, SR, subtype="PCM_16")
    assert run_cli("check", str(p)).returncode == 0
    assert run_cli("check", str(p), "--strict").returncode == 1


def test_jobs_gives_same_results_as_serial(tmp_path):
    for i in range(4):
        (tmp_path / f"d{i}").mkdir()
        _files(tmp_path / f"d{i}")
    serial = json.loads(run_cli("check", str(tmp_path), "--json", "-").stdout)
    par = json.loads(run_cli("check", str(tmp_path), "--jobs", "2", "--json", "-").stdout)
    assert [i["path"] for i in par["items"]] == [i["path"] for i in serial["items"]]
    assert [i["checks"] for i in par["items"]] == [i["checks"] for i in serial["items"]]
    assert len(par["items"]) == 12


def test_bad_flag_and_bad_config_exit_2(tmp_path):
    good, _, _ = _files(tmp_path)
    assert run_cli("check", str(good), "--jobs", "0").returncode == 2
    cfg = tmp_path / "qa.toml"
    cfg.write_text('profile = "loudest"\n')
    r = run_cli("check", str(good), "--config", str(cfg))
    assert r.returncode == 2
    assert "unknown profile 'loudest'; known profiles: generic, streaming, broadcast, atsc, podcast, speech" in r.stderr
    cfg.write_text("expect_samplerate = 44100\n")
    r = run_cli("check", str(good), "--config", str(cfg))
    assert r.returncode == 2 and "unknown key(s) expect_samplerate" in r.stderr


def test_config_thresholds_and_pyproject(tmp_path):
    p = tmp_path / "dc.wav"
    sf.write(p, SONG + 0.015, SR, subtype="PCM_16")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.audio-qa]\nexpect_sample_rate = 44100\n[tool.audio-qa.thresholds.dc_offset]\nfail_abs = 0.012\n"
    )
    doc = json.loads(run_cli("check", "dc.wav", "--json", "-", cwd=tmp_path).stdout)
    checks = {c["id"]: c["status"] for c in doc["items"][0]["checks"]}
    assert checks["dc_offset"] == "fail" and checks["sample_rate"] == "fail"


def test_output_not_writable_exits_2(tmp_path):
    good, _, _ = _files(tmp_path)
    r = run_cli("check", str(good), "--json", str(tmp_path / "no" / "such" / "dir.json"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_measure_prints_metrics(tmp_path):
    good, _, _ = _files(tmp_path)
    doc = json.loads(run_cli("measure", str(good), "--json", "-").stdout)
    m = doc["items"][0]["metrics"]
    x, _ = sf.read(good)
    assert m["sample_peak_dbfs"] == pytest.approx(20 * np.log10(np.abs(x).max()), abs=1e-6)
    assert m["nonfinite_count"] == 0


def test_folder_without_audio_is_a_usage_error_not_a_pass(tmp_path):
    (tmp_path / "notes.txt").write_text("no audio here")
    r = run_cli("check", str(tmp_path), "--json", str(tmp_path / "r.json"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"no audio files found under {tmp_path} (looked for .aif, .aifc" in r.stderr
    assert not (tmp_path / "r.json").exists()  # no report that says PASS over nothing
