"""One bad file never costs the run: inputs that crashed the measurement on the first hostile
test (issue 15) come out as their own item, next to the good files, with every output written."""

import json

import numpy as np
import pytest
import soundfile as sf

from qa.analyze import guarded
from qa.loading import MIN_RATE
from qa.metrics.levels import level_stats
from qa.metrics.loudness import PREFILTER_HZ, measure_loudness
from qa.measure import Measurements
from qa.audio import Audio
from tests.conftest import run_cli, sine


def _huge(path):
    x = np.full(44100, 1e300)
    x[::2] = -1e300
    sf.write(path, x, 44100, subtype="DOUBLE")


@pytest.mark.parametrize("sr", [MIN_RATE, 2000, 3000, 3363])
def test_loudness_below_twice_the_prefilter_rate_is_null_with_a_note(sr):
    r = measure_loudness(0.3 * sine(200, sr, 4.0), sr)
    assert r.integrated_lufs is None and r.momentary_max_lufs is None and r.lra_lu is None
    assert any("1682 Hz" in n and f"{sr} Hz" in n for n in r.notes)
    assert r.true_peak_dbtp >= 20 * np.log10(0.3) - 0.01  # still measured: >= the sample peak


def test_loudness_just_above_the_prefilter_limit_is_measured():
    sr = int(2 * PREFILTER_HZ) + 1
    r = measure_loudness(0.3 * sine(200, sr, 4.0), sr)
    assert r.integrated_lufs is not None and np.isfinite(r.integrated_lufs)


def test_level_stats_of_overflowing_float64_is_null_with_a_note():
    x = np.full((1, 1000), 1e300)
    x[0, ::2] = -1e300
    s = level_stats(x)
    assert s.crest_db is None and s.peak == 1e300
    m = s.to_metrics()
    assert m["rms_dbfs"] is None and m["sample_peak_dbfs"] == pytest.approx(6000.0)
    assert any("overflows float64" in n for n in s.notes)


def test_every_metric_of_garbage_magnitudes_is_a_number_or_null():
    x = np.full((2, 48000), 1e300)
    x[:, ::2] = -1e300
    m = Measurements(Audio.from_array(x, 48000)).compute_all()
    metrics = m.metrics()
    assert all(v is None or np.isfinite(v) for v in metrics.values())
    assert metrics["integrated_lufs"] is None and metrics["crest_db"] is None
    assert any("beyond 1e+12" in n for n in m.notes())


def test_an_exception_inside_the_measurement_is_that_files_error_item():
    def boom():
        raise ZeroDivisionError("division by zero")

    item = guarded("/x/a.wav", boom)
    d = item.to_dict()
    assert d["status"] == "error" and d["path"] == "/x/a.wav"
    (c,) = d["checks"]
    assert c["id"] == "internal" and c["status"] == "error"
    assert "ZeroDivisionError: division by zero" in c["message"]
    assert "test_hostile_measure.py" in c["message"] and "in boom" in c["message"]
    assert "report it" in c["hint"]


def test_crashing_wavs_of_the_issue_do_not_cost_the_run(tmp_path):
    good = tmp_path / "a_good.wav"
    sf.write(good, 0.5 * sine(997, 48000, 2.0)[0], 48000, subtype="PCM_16")
    low = tmp_path / "b_low_rate.wav"
    sf.write(low, 0.3 * sine(200, 2000, 3.0)[0], 2000, subtype="PCM_16")
    huge = tmp_path / "c_huge.wav"
    _huge(huge)
    out = tmp_path / "r.json"
    html = tmp_path / "r.html"
    junit = tmp_path / "r.xml"
    r = run_cli("check", str(tmp_path), "--json", str(out), "--html", str(html),
                "--junit", str(junit))
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 1
    items = {i["path"]: i for i in json.loads(out.read_text())["items"]}
    assert set(items) == {str(good), str(low), str(huge)}
    assert len(items[str(good)]["checks"]) >= 20 and items[str(good)]["status"] != "error"
    assert items[str(low)]["metrics"]["integrated_lufs"] is None
    assert items[str(low)]["status"] != "error"
    assert items[str(huge)]["status"] == "fail"
    assert items[str(huge)]["metrics"]["crest_db"] is None
    assert html.stat().st_size > 0 and junit.stat().st_size > 0


def test_measure_of_the_crashing_wavs_gives_null_metrics(tmp_path):
    huge = tmp_path / "huge.wav"
    _huge(huge)
    r = run_cli("measure", str(huge), "--json", "-")
    assert "Traceback" not in r.stderr, r.stderr
    (item,) = json.loads(r.stdout)["items"]
    assert item["metrics"]["rms_dbfs"] is None
    assert any("overflows float64" in n for n in item["notes"])
