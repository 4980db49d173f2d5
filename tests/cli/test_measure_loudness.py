"""`audio-qa measure` loudness metrics and `--series`, through the real CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from qa.results import ItemResult
from conftest import run_cli

LOUDNESS = ["true_peak_dbtp", "integrated_lufs", "momentary_max_lufs", "short_term_max_lufs",
            "lra_lu", "plr_db"]


def _tone_file(path, dbfs=-23.0, seconds=5.0, sr=48000):
    t = np.arange(int(seconds * sr)) / sr
    x = 10 ** (dbfs / 20) * np.sin(2 * np.pi * 1000 * t)
    sf.write(path, np.stack([x, x], axis=1), sr, subtype="PCM_24")


def test_measure_json_has_loudness_metrics(tmp_path):
    f = tmp_path / "tone.wav"
    _tone_file(f)
    p = run_cli("measure", str(f), "--json", "-")
    assert p.returncode == 0, p.stderr
    m = json.loads(p.stdout)["items"][0]["metrics"]
    assert all(k in m for k in LOUDNESS)
    assert m["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)
    assert m["true_peak_dbtp"] == pytest.approx(-23.0, abs=0.05)
    assert "momentary_series" not in m and "short_term_series" not in m


def test_measure_series(tmp_path):
    f = tmp_path / "tone.wav"
    _tone_file(f)
    p = run_cli("measure", str(f), "--series", "--json", "-")
    assert p.returncode == 0, p.stderr
    item = json.loads(p.stdout)["items"][0]
    ms, ss = item["metrics"]["momentary_series"], item["metrics"]["short_term_series"]
    assert len(ms) == 47 and ms[0][0] == pytest.approx(0.4) and ms[-1][0] == pytest.approx(5.0)
    assert len(ss) == 21 and ss[0][0] == pytest.approx(3.0)
    assert all(v == pytest.approx(-23.0, abs=0.1) for _, v in ss)


def test_short_file_gives_null_and_note(tmp_path):
    f = tmp_path / "blip.wav"
    _tone_file(f, seconds=0.2)
    p = run_cli("measure", str(f), "--json", "-")
    item = json.loads(p.stdout)["items"][0]
    assert item["metrics"]["integrated_lufs"] is None
    assert "integrated_lufs: n/a, the signal is shorter than one 400 ms gating block" in item["notes"]


def test_series_lists_serialize_and_refuse_nan():
    ok = ItemResult("file", "x", metrics={"momentary_series": [[0.4, -23.0], [0.5, -22.5]]})
    assert ok.to_dict()["metrics"]["momentary_series"] == [[0.4, -23.0], [0.5, -22.5]]
    bad = ItemResult("file", "x", metrics={"momentary_series": [[0.4, float("nan")]]})
    with pytest.raises(ValueError, match="non-finite metric value"):
        bad.to_dict()
