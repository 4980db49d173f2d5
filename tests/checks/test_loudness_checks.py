"""loudness_target, true_peak and over_compression on real and generated audio."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf

from qa.audio import Audio
from qa.checks import CheckContext, run_file_checks
from qa.measure import Measurements
from qa.profiles import load_profile

IDS = {"loudness_target", "true_peak", "over_compression"}


def run(x: np.ndarray, sr: int, profile: str = "streaming") -> dict:
    ctx = CheckContext(profile=load_profile(profile))
    out = run_file_checks(Measurements(Audio.from_array(x, sr)), ctx, only=IDS)
    return {c.id: c for c in out}


def tone(dbfs: float, seconds: float = 4.0, sr: int = 48000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return np.tile(10 ** (dbfs / 20) * np.sin(2 * np.pi * 1000 * t), (2, 1))


@pytest.mark.parametrize("profile,target,warn,fail", [
    ("streaming", -14.0, 1.0, 3.0), ("broadcast", -23.0, 0.5, 1.0),
    ("atsc", -24.0, 1.0, 2.0), ("podcast", -16.0, 1.0, 2.0), ("speech", -23.0, 5.0, 10.0)])
def test_loudness_target_bands(profile, target, warn, fail):
    # A stereo 1 kHz sine at X dBFS reads X LUFS (Tech 3341 case 1).
    assert run(tone(target), 48000, profile)["loudness_target"].status == "pass"
    r = run(tone(target - (warn + fail) / 2), 48000, profile)["loudness_target"]
    # the threshold is the edge of the band that decided, on the value's side of the target
    assert r.status == "warn" and r.threshold == target - warn and r.unit == "LUFS"
    r = run(tone(target + fail + 0.3), 48000, profile)["loudness_target"]
    assert r.status == "fail" and r.threshold == target + fail and r.value > r.threshold
    assert f"3 LU above the {target:g} LUFS target (fail band ±{fail:g} LU)" in r.message
    assert r.hint.startswith(f"apply {-(fail + 0.3):+.1f} dB of gain")


def test_true_peak_fails_on_intersample_peaks_a_sample_peak_meter_misses():
    # Tech 3341 case 19: fs/4 sine at 45 degrees, samples at 0 dBFS, true peak +3 dBTP.
    sr = 48000
    t = np.arange(sr) / sr
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.1)  # 100 ms fades, as in the EBU files
    x = np.tile(ramp * np.sin(2 * np.pi * sr / 4 * t + np.pi / 4) / np.sin(np.pi / 4) * 0.98, (2, 1))
    assert np.abs(x).max() <= 0.98 + 1e-9  # a sample-peak meter sees -0.18 dBFS
    r = run(x, sr, "streaming")["true_peak"]
    assert r.status == "fail" and r.threshold == -1.0
    assert 2.83 - 0.4 <= r.value <= 2.83 + 0.2  # Tech 3341 tolerance around 20*log10(0.98/sin 45)
    assert "above the -1.0 dBTP ceiling" in r.message


def test_true_peak_warn_band_and_atsc_ceiling():
    r = run(tone(-1.5), 48000)["true_peak"]
    assert r.status == "warn" and r.threshold == -2.0 and r.value > r.threshold  # within 1 dB of -1
    assert run(tone(-3.0), 48000)["true_peak"].status == "pass"
    assert run(tone(-1.5), 48000, "atsc")["true_peak"].status == "fail"  # ceiling -2 dBTP


def test_silence_skips_with_the_reason():
    r = run(np.zeros((2, 48000 * 2)), 48000)
    assert r["loudness_target"].status == "skip"
    assert "no 400 ms block is above the -70 LUFS absolute gate" in r["loudness_target"].message
    assert r["true_peak"].status == "skip" and "digital silence" in r["true_peak"].message


@pytest.mark.reference
@pytest.mark.parametrize("name", ["strauss48_stereo.flac", "sopr48_stereo.flac", "ravel48_stereo.flac"])
def test_over_compression_real_music_passes_tanh_fails(reference, name):
    # The three most compressed real files (PLR 11.4-13.1 dB) pass; tanh drive 10 fails.
    x, sr = sf.read(reference / "google-visqol/conformance_testdata_subset" / name, always_2d=True)
    x = x.T
    assert run(x, sr)["over_compression"].status == "pass"
    y = np.tanh(10 * x / np.abs(x).max()) / np.tanh(10)
    r = run(y, sr)["over_compression"]
    assert r.status == "fail" and r.value < 5.0
    assert r.message.startswith("over-compressed: ")
    assert "tanh" in r.hint


def test_over_compression_reports_the_criterion_that_decided():
    # 25 Hz plus 0.3 x 125 Hz (two spectral lines: the fundamental holds 92 % of the power, so
    # it is not a steady single tone): K-weighting drops the low tones, so its PLR passes the
    # 5 dB floor while its crest factor (4.9 dB) fails the 6 dB floor: the result shows the
    # crest and its floor. (A pure sine is a test signal and skips, tests/checks/test_tone.py.)
    sr = 48000
    t = np.arange(4 * sr) / sr
    x = 0.6 * (np.sin(2 * np.pi * 25 * t) + 0.3 * np.sin(2 * np.pi * 125 * t))
    crest = 20 * np.log10(np.abs(x).max() / np.sqrt(np.mean(x ** 2)))
    r = run(np.tile(x, (2, 1)), sr)["over_compression"]
    assert r.status == "fail"
    assert r.value == pytest.approx(crest, abs=1e-3) and r.threshold == 6.0 and crest < 6.0
    assert r.message.startswith(f"over-compressed: crest {crest:.1f} dB is below the 6 dB floor (PLR ")
    plr = float(r.message.split("(PLR ")[1].split(" dB")[0])
    assert plr >= 5.0  # the PLR floor was not the one crossed


def test_generic_default_judges_faults_not_delivery():
    # A -25 LUFS tone: nothing is broken. The default warns far from -14 LUFS and names the
    # delivery profiles; --profile streaming fails it with the gain to apply.
    r = run(tone(-25.0), 48000, "generic")["loudness_target"]
    assert r.status == "warn" and r.threshold == -24.0 and r.value < r.threshold
    assert "11.0 LU below the -14 LUFS streaming reference (warn band ±10 LU)" in r.message
    assert "--profile streaming" in r.hint
    assert run(tone(-20.0), 48000, "generic")["loudness_target"].status == "pass"
    r = run(tone(-25.0), 48000, "streaming")["loudness_target"]
    assert r.status == "fail" and r.hint.startswith("apply +11.0 dB of gain")
    # a lost gain stage: far below any real music or speech
    r = run(tone(-50.0), 48000, "generic")["loudness_target"]
    assert (r.status, r.threshold) == ("fail", -45.0)
    assert "a gain stage was lost" in r.message
    assert CheckContext().profile.name == "generic"


def test_generic_true_peak_warns_on_overs_fails_only_far_past_full_scale():
    sr = 48000
    t = np.arange(sr) / sr
    case19 = np.tile(np.sin(2 * np.pi * sr / 4 * t + np.pi / 4) / np.sin(np.pi / 4), (2, 1))
    r = run(case19, sr, "generic")["true_peak"]  # samples at 0 dBFS, true peak +3 dBTP
    assert r.status == "warn" and r.threshold == 0.0 and "inter-sample overs" in r.message
    assert run(tone(-1.5), sr, "generic")["true_peak"].status == "pass"
    r = run(tone(12.0), sr, "generic")["true_peak"]
    assert (r.status, r.threshold) == ("fail", 10.0) and "far past full scale" in r.message


def test_shown_numbers_never_contradict_the_verdict():
    # -0.9996 dBTP under a -1 dBTP ceiling: "-1.00 dBTP is above the -1.0 dBTP ceiling" must
    # not be printed; a deviation of 3.04 LU is not "3.0 LU ... (fail band ±3 LU)".
    r = run(tone(-14.0 - 3.04), 48000, "streaming")["loudness_target"]
    assert r.status == "fail" and re.search(r"is 3\.0[1-9]\d* LU below", r.message), r.message
    x = tone(-1.0)
    x = x * 10 ** ((-0.9996 - run(x, 48000)["true_peak"].value) / 20)
    r = run(x, 48000, "streaming")["true_peak"]
    assert r.status == "fail" and "true peak -0.9996 dBTP is above" in r.message
