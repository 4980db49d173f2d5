"""The content checks on real audio: no false alarm on the reference music and speech or on
legitimately processed versions of it; each injected fault caught by the right check id."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from qa.analyze import check_audio
from qa.audio import Audio
from qa.checks import CheckContext
from tests.conftest import reference_params, run_cli, sine

IDS = ("phase", "dropout", "noise_like", "bandwidth", "seams")
CTX = CheckContext()
MUSIC = ["guitar48_stereo.wav", "contrabassoon48_stereo.flac", "moonlight48_stereo.flac"]


def content_checks(x: np.ndarray, sr: int, ctx: CheckContext = CTX) -> dict:
    item = check_audio(Audio.from_array(np.ascontiguousarray(x, dtype=np.float32), sr), ctx)
    return {c.id: c for c in item.checks if c.id in IDS}


def music(reference, name: str, seconds: float = 6.0) -> tuple[np.ndarray, int]:
    x, sr = sf.read(reference / "google-visqol" / "conformance_testdata_subset" / name, always_2d=True)
    return x.T[:, : int(seconds * sr)], sr


def assert_no_false_alarm(res: dict, allow_bandwidth_warn: bool = False):
    for cid, c in res.items():
        if cid == "bandwidth" and allow_bandwidth_warn and c.status == "warn":
            assert "lowpass edge" in c.message and "lossy codec" in c.message
            continue
        assert c.status in ("pass", "skip"), f"{cid}: {c.status}: {c.message}"


@pytest.mark.reference
@pytest.mark.parametrize("path", reference_params(), ids=lambda p: p.name)
def test_no_false_alarm_on_reference_audio(reference, path):
    x, sr = sf.read(path, always_2d=True)
    # the lowpassed and transcoded reference files really are band-limited: a warning that says so
    degraded = any(k in path.name for k in ("lp7", "lp35", "kbps", "transcoded")) or path.parent.name == "alignment"
    assert_no_false_alarm(content_checks(x.T, sr), allow_bandwidth_warn=degraded)


@pytest.mark.reference
def test_no_false_alarm_on_legitimately_processed_audio(reference):
    x, sr = music(reference, "guitar48_stereo.wav", 5.0)
    # 128 kbps MP3 round trip: the encoder's ~16 kHz lowpass warns with the reason
    buf = io.BytesIO()
    sf.write(buf, resample_poly(x, 147, 160, axis=1).T, 44100, format="MP3")
    buf.seek(0)
    mp3, mp3_sr = sf.read(buf, always_2d=True)
    res = content_checks(mp3.T, mp3_sr)
    assert res["bandwidth"].status in ("pass", "warn")
    assert_no_false_alarm(res, allow_bandwidth_warn=True)
    # resampled to 44.1 kHz, peak-normalized to -1 dBFS
    y = resample_poly(x, 147, 160, axis=1)
    assert_no_false_alarm(content_checks(y, 44100))
    assert_no_false_alarm(content_checks(x * (10 ** (-1 / 20) / np.abs(x).max()), sr))
    # mono speech (and a music downmix to mono)
    sp, ssr = sf.read(reference / "espeak-ng" / "harvard_en-us_m.wav", always_2d=True)
    res = content_checks(sp.T, ssr)
    assert_no_false_alarm(res)
    assert res["phase"].status == "skip" and "mono" in res["phase"].message
    assert_no_false_alarm(content_checks(x.mean(axis=0, keepdims=True), sr))


@pytest.mark.reference
@pytest.mark.parametrize("name", MUSIC)
def test_a_musical_pause_with_fades_is_not_a_dropout(reference, name):
    x, sr = music(reference, name, 8.0)
    env = np.ones(x.shape[1])
    fade = np.linspace(1.0, 0.0, sr // 2) ** 2
    a = 3 * sr
    env[a : a + fade.size] = fade
    env[a + fade.size : a + fade.size + 2 * sr] = 0.0  # 2 s of digital silence
    env[a + fade.size + 2 * sr : a + 2 * fade.size + 2 * sr] = fade[::-1]
    res = content_checks(x * env, sr)
    assert_no_false_alarm(res)
    assert "faded pause" in res["dropout"].message


@pytest.mark.reference
@pytest.mark.parametrize("name", MUSIC)
def test_each_fault_is_caught_by_the_right_check(reference, name):
    x, sr = music(reference, name, 6.0)
    rng = np.random.default_rng(7)
    n = x.shape[1]

    res = content_checks(np.stack([x[0], -x[0]]), sr)
    assert res["phase"].status == "fail" and res["phase"].value == pytest.approx(-1.0)

    res = content_checks(np.ascontiguousarray(x.T).reshape(2, -1), sr)
    assert res["phase"].status == "fail" and "interleaved" in res["phase"].message

    y = x.copy()
    y[:, 2 * sr : 2 * sr + int(1.5 * sr)] = 0.0
    res = content_checks(y, sr)
    assert res["dropout"].status == "fail"
    assert res["dropout"].value == pytest.approx(1.5, abs=0.02) and "2.00 s" in res["dropout"].message

    res = content_checks(0.2 * rng.standard_normal(x.shape), sr)
    assert res["noise_like"].status == "fail" and "white noise" in res["noise_like"].message
    t = np.arange(n) / sr
    sq = 0.3 * np.sign(np.sin(2 * np.pi * 110 * t))
    res = content_checks(np.stack([sq, sq]), sr)
    assert res["noise_like"].status == "fail" and "buzz" in res["noise_like"].message

    dec = resample_poly(resample_poly(x, 1, 4, axis=1), 4, 1, axis=1)
    res = content_checks(dec, sr)
    assert res["bandwidth"].status == "warn" and res["bandwidth"].value < 0.3 * sr / 2
    assert "upsampled" in res["bandwidth"].message

    period = sr // 4
    # each chunk decoded on its own: a step of 0.01-0.02 full scale (either sign) at every join
    jumps = rng.choice([-1.0, 1.0], size=n // period + 1) * rng.uniform(0.01, 0.02, size=n // period + 1)
    jumps[0] = 0.0
    seamy = x + np.repeat(np.cumsum(jumps), period)[:n]
    res = content_checks(seamy, sr)
    assert res["seams"].status == "fail" and f"every {period} frames" in res["seams"].message
    given = content_checks(seamy, sr, CheckContext(seams=tuple(range(period, n, period))))
    assert given["seams"].status == "fail" and "given chunk seams" in given["seams"].message
    assert content_checks(x, sr, CheckContext(seams=tuple(range(period, n, period))))["seams"].status == "pass"


def test_pure_tone_is_not_a_buzz_and_silence_skips():
    res = content_checks(sine(997.0, 48000, 3.0, 0.1), 48000)
    assert res["noise_like"].status == "pass" and "single tone" in res["noise_like"].message
    res = content_checks(np.zeros((2, 48000)), 48000)
    assert all(res[c].status == "skip" for c in ("dropout", "noise_like", "bandwidth"))


@pytest.mark.reference
def test_cli_measure_and_check_report_the_content_metrics(reference, tmp_path):
    x, sr = music(reference, "guitar48_stereo.wav", 4.0)
    bad = tmp_path / "inverted.wav"
    sf.write(bad, np.stack([x[0], -x[0]]).T, sr, subtype="PCM_16")
    proc = run_cli("measure", str(bad), "--json", "-")
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)["items"][0]["metrics"]
    assert m["lr_correlation"] == pytest.approx(-1.0, abs=1e-4)
    assert m["spectral_flatness"] < 0.02 and m["bandwidth_hz"] > 15000 and m["longest_dropout_s"] == 0.0
    proc = run_cli("check", str(bad), "--json", "-")
    assert proc.returncode == 1
    checks = {c["id"]: c for c in json.loads(proc.stdout)["items"][0]["checks"]}
    assert checks["phase"]["status"] == "fail"


def test_file_shorter_than_one_analysis_frame_skips_bandwidth_as_too_short():
    res = content_checks(sine(997.0, 48000, 0.02, 0.1, channels=2), 48000)  # 960 samples
    assert res["bandwidth"].status == "skip"
    assert res["bandwidth"].message == ("bandwidth n/a: the file is too short: 960 samples per "
                                       "channel, fewer than the 2048 of one analysis frame")
    assert res["noise_like"].status == "skip" and "too short: 960 samples" in res["noise_like"].message
    # one 2048-sample frame is enough for both
    res = content_checks(sine(997.0, 48000, 0.05, 0.1, channels=2), 48000)  # 2400 samples
    assert res["bandwidth"].status == "pass" and res["noise_like"].status == "pass"
