"""qa.longform: a file whose samples exceed the decode budget is checked in segments, with the
whole file's loudness and levels, faults found where they are (also across a segment boundary),
whole-programme properties not failed by one passage, and an hour of audio in bounded memory."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import soundfile as sf

from qa.analyze import check_path
from qa.checks import CheckContext
from qa.loading import ReadOptions
from qa.longform import plan_segments
from qa.metrics.loudness import measure_loudness
from tests.conftest import ROOT
from tests.test_containers import _peak_rss_mb

sys.path.insert(0, str(ROOT / "fixtures"))
from make_fixtures import render_song  # noqa: E402

SR = 16000
#: 16 MiB: a 300 s mono 16 kHz float file (18.3 MiB) is over it; segments of at most
#: 16 MiB / 4 / 64 kB/s - 10 s of context = 55.5 s: six equal segments of 50 s.
SMALL = ReadOptions(decode_budget_mb=16)
BOUNDARY_S = 50.0


def _mono(seconds: float, seed: int = 2) -> np.ndarray:
    return render_song(seconds, sr=SR, seed=seed).mean(axis=0).astype(np.float32)


@pytest.fixture(scope="module")
def song300() -> np.ndarray:
    """Five minutes of the test song (rendered once: 10 s of CPU); tests take a copy."""
    x = _mono(300.0)
    x.flags.writeable = False
    return x


def _check(tmp_path, x: np.ndarray, read: ReadOptions = SMALL, name: str = "long.wav") -> dict:
    p = tmp_path / name
    sf.write(p, x, SR, subtype="FLOAT")
    return check_path(str(p), CheckContext(read=read)).to_dict()


def _by_id(item: dict) -> dict:
    return {c["id"]: c for c in item["checks"]}


def _failing_side(c: dict) -> None:
    """A failing check's shown value lies on the failing side of its shown threshold."""
    if c["status"] == "fail" and c.get("threshold") is not None:
        assert c["value"] >= c["threshold"], c


@pytest.mark.parametrize("seconds, n", [(300, 6), (280, 6), (55.536, 1), (55.537, 2), (3, 1)])
def test_the_segment_plan_covers_the_file_once_in_equal_segments(seconds, n):
    frames = int(seconds * SR)
    plan = plan_segments(frames, SR, 1, 16 * 2**20)
    assert len(plan) == n
    assert plan[0].start == 0 and plan[-1].end == frames
    assert all(a.end == b.start for a, b in zip(plan, plan[1:]))  # each frame once
    lengths = [s.end - s.start for s in plan]
    assert max(lengths) - min(lengths) <= 1 and max(lengths) <= 55.536 * SR
    assert [s.context for s in plan] == [0] + [10 * SR] * (n - 1)
    assert plan[0].first and plan[-1].last


def test_a_long_file_gets_the_whole_file_loudness_and_levels_and_the_same_verdicts(tmp_path, song300):
    x = song300
    seg = _check(tmp_path, x)
    whole = _check(tmp_path, x, ReadOptions(), name="whole.wav")
    assert any(n.startswith("checked in 6 segments of up to 50 s (each after the first with 10 s of context)")
               for n in seg["notes"])
    assert not any(n.startswith("checked in") for n in whole["notes"])
    m = seg["metrics"]
    x64 = x.astype(np.float64)
    assert m["sample_peak_dbfs"] == pytest.approx(20 * math.log10(np.abs(x64).max()), abs=1e-9)
    assert m["rms_dbfs"] == pytest.approx(10 * math.log10(np.mean(x64 * x64)), abs=1e-9)
    ref = measure_loudness(x[None, :], SR)
    for k, v in ref.to_metrics().items():
        assert m[k] == pytest.approx(v, abs=1e-9), k
    assert m["distinct_values"] is None
    assert "distinct_values: n/a, counts of distinct values do not add up across segments" in seg["notes"]
    # No false alarm from cutting the file: each check's status is the whole-file check's.
    assert {k: c["status"] for k, c in _by_id(seg).items()} == \
        {k: c["status"] for k, c in _by_id(whole).items()}


def test_a_dropout_across_a_segment_boundary_is_found_where_it_is(tmp_path, song300):
    x = song300.copy()
    a, b = int((BOUNDARY_S - 0.6) * SR), int((BOUNDARY_S + 0.9) * SR)
    x[a:b] = 0.0  # 1.5 s cut to digital silence, 0.6 s before the first boundary
    c = _by_id(_check(tmp_path, x))["dropout"]
    assert c["status"] == "fail", c
    _failing_side(c)
    assert c["value"] == pytest.approx(1.5, abs=0.02)
    # found on the whole file's envelope: the file's time, no segment
    assert c["message"].startswith("1.50 s cut to silence at 49.40 s"), c["message"]


def test_a_minute_of_silence_mid_file_is_a_dropout_not_a_silent_file(tmp_path, song300):
    x = song300.copy()
    x[150 * SR : 210 * SR] = 0.0  # longer than a segment, across two boundaries
    checks = _by_id(_check(tmp_path, x))
    assert checks["not_silent"]["status"] == "pass"
    assert "least affected of 6 segments" in checks["not_silent"]["message"]
    drop = checks["dropout"]
    assert drop["status"] == "fail", drop
    _failing_side(drop)
    assert drop["message"].startswith("60.00 s cut to silence at 150.00 s"), drop["message"]
    assert checks["dead_air"]["status"] == "pass", checks["dead_air"]  # mid-file, not an edge


def test_a_pause_at_a_segment_boundary_is_judged_whole_in_the_next_segment(tmp_path, song300):
    # 5 s of digital silence ending 1 s after the first boundary, with fades: the first segment
    # ends in 4 s of it (dead air, were it the file's end); on the whole file's envelope it is a
    # faded pause, neither dead air nor a dropout, as in the whole-file check
    x = song300.copy()
    a, b = int((BOUNDARY_S - 4.0) * SR), int((BOUNDARY_S + 1.0) * SR)
    ramp = np.linspace(1.0, 0.0, SR // 2, dtype=np.float32)
    x[a - SR // 2 : a] *= ramp
    x[a:b] = 0.0
    x[b : b + SR // 2] *= ramp[::-1]
    seg = _by_id(_check(tmp_path, x))
    whole = _by_id(_check(tmp_path, x, ReadOptions(), name="whole.wav"))
    assert whole["dead_air"]["status"] == "pass" and whole["dropout"]["status"] == "pass"
    assert seg["dead_air"]["status"] == "pass", seg["dead_air"]
    assert seg["dropout"]["status"] == "pass", seg["dropout"]


def test_the_end_of_a_long_file_is_judged_on_its_last_segment(tmp_path, song300):
    cut = _by_id(_check(tmp_path, song300[: 250 * SR]))["truncated_end"]  # stops mid-bar
    assert cut["status"] == "fail" and cut["message"].startswith("the last 50 ms (at 249.95 s)"), cut
    _failing_side(cut)
    faded = _by_id(_check(tmp_path, song300, name="faded.wav"))["truncated_end"]
    assert faded["status"] == "pass", faded


@pytest.mark.slow
def test_an_hour_of_stereo_48k_is_checked_in_bounded_memory(tmp_path):
    sr = 48000
    minute = render_song(60.0, sr=sr, seed=4).T.astype(np.float32)  # fades in and out
    p = tmp_path / "hour.flac"
    with sf.SoundFile(p, "w", sr, 2, "PCM_16", format="FLAC") as f:
        for k in range(60):
            block = minute.copy()
            if k == 41:  # a 1.5 s cut to silence at 41:20.0
                block[20 * sr : int(21.5 * sr)] = 0.0
            if k == 50:  # 2 s driven 12 dB into the rails at 50:30
                block[30 * sr : 32 * sr] = np.clip(block[30 * sr : 32 * sr] * 4.0, -1.0, 1.0)
            f.write(block)
    doc, rss = _peak_rss_mb("check", str(p))
    assert rss < 500, rss
    (item,) = doc["items"]
    assert item["frames"] == 3600 * sr
    assert any(n.startswith("checked in 30 segments of up to 120 s") for n in item["notes"])
    checks = _by_id(item)
    for c in checks.values():
        _failing_side(c)
    bad = {k for k, c in checks.items() if c["status"] == "fail"}
    assert bad == {"dropout", "clipping"}, [checks[k]["message"] for k in bad]
    assert checks["dropout"]["message"].startswith("1.50 s cut to silence at 2480.00 s")
    assert checks["clipping"]["message"].startswith("segment 49:50-52:00")
    # loudness of the whole hour: that of its minute (the faults move it by < 0.05 LU)
    ref = measure_loudness(minute.T, sr)
    assert item["metrics"]["integrated_lufs"] == pytest.approx(ref.integrated_lufs, abs=0.05)
