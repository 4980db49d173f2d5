"""``audio-qa compare`` and ``audio-qa roundtrip`` as real subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

SHORT = str(ROOT / "fixtures" / "audio" / "song_short_48k.wav")


@pytest.mark.reference
def test_compare_json_has_the_published_pesq_values(reference):
    r = run_cli("compare", str(reference / "ludlows-pesq/audio/speech.wav"),
                str(reference / "ludlows-pesq/audio/speech_bab_0dB.wav"),
                "--content", "speech", "--skip", "visqol_moslqo", "--json", "-")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    item = doc["items"][0]
    assert doc["schema"] == "audio-qa.report/1"
    assert item["kind"] == "comparison"
    assert item["reference"].endswith("speech.wav")
    assert item["metrics"]["pesq_wb"] == 1.0832337141036987
    assert item["metrics"]["pesq_nb"] == 1.6072081327438354
    assert list(item["metrics"]) == ["delay_samples", "length_delta_samples", "snr_db",
                                     "seg_snr_db", "si_sdr_db", "lsd_db", "stoi", "estoi",
                                     "pesq_wb", "pesq_nb", "visqol_moslqo"]


def test_compare_missing_file_is_an_item_and_exit_2(tmp_path):
    r = run_cli("compare", SHORT, str(tmp_path / "nope.wav"), "--json", "-")
    assert r.returncode == 2
    item = json.loads(r.stdout)["items"][0]
    assert item["status"] == "fail"
    assert item["checks"][0]["id"] == "readable"
    assert item["checks"][0]["message"].endswith("nope.wav: no such file")


def test_compare_not_audio_exits_1(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is not audio at all" * 10)
    r = run_cli("compare", SHORT, str(bad), "--json", "-")
    assert r.returncode == 1
    assert json.loads(r.stdout)["items"][0]["checks"][0]["id"] == "readable"


def test_roundtrip_bad_spec_is_a_usage_error():
    r = run_cli("roundtrip", SHORT, "--codec", "mp3:100")
    assert r.returncode == 2
    assert "codec 'mp3:100': MP3 bitrates are" in r.stderr


def test_roundtrip_sweep_gives_quality_vs_bitrate_and_a_plot(tmp_path):
    png = tmp_path / "q.png"
    r = run_cli("roundtrip", SHORT, "--codec", "flac", "--codec", "opus:64", "--sweep",
                "--skip", "visqol_moslqo", "--jobs", "2", "--plot", str(png), "--json", "-")
    assert r.returncode == 0, r.stderr
    items = json.loads(r.stdout)["items"]
    assert [i["codec"] for i in items] == ["flac", "opus:16", "opus:32", "opus:48", "opus:64",
                                           "opus:96", "opus:128", "opus:192"]
    assert all(i["kind"] == "roundtrip" for i in items)
    assert items[0]["metrics"]["snr_db"] is None and "identical: lossless" in items[0]["notes"]
    snr = [i["metrics"]["snr_db"] for i in items[1:]]
    assert snr[-1] > snr[0] + 5  # more bits, less noise
    kbps = [i["encoded_kbps"] for i in items[1:]]
    assert kbps == sorted(kbps)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "[8/8]" in r.stderr  # progress on stderr, JSON alone on stdout


def test_roundtrip_unavailable_codec_runs_the_others_and_exits_2():
    r = run_cli("roundtrip", SHORT, "--codec", "encodec:6,pcm16", "--skip", "visqol_moslqo",
                "--json", "-")
    assert r.returncode == 2
    items = json.loads(r.stdout)["items"]
    assert items[0]["status"] == "error" and items[0]["checks"][0]["id"] == "backend_available"
    assert "encodec:6: unavailable:" in items[0]["checks"][0]["message"]
    assert items[1]["status"] == "pass" and "identical: lossless" in items[1]["notes"]
