"""A steady single tone is a test signal: the checks that judge music (dynamics, the ending,
development, bandwidth) skip it with the reason; the fault checks still judge it."""

import numpy as np
import pytest

from qa.analyze import check_path
from qa.audio import Audio
from qa.checks import CheckContext, run_file_checks
from qa.measure import Measurements

SR = 48000
MUSIC_ONLY = ("over_compression", "truncated_end", "stuck_note", "bandwidth")


def checks(x):
    m = Measurements(Audio.from_array(np.ascontiguousarray(x, dtype=np.float32), SR))
    return {c.id: c for c in run_file_checks(m, CheckContext())}


def sine(seconds=25.0, hz=1000.0, peak=0.5):
    t = np.arange(int(seconds * SR)) / SR
    return np.stack([peak * np.sin(2 * np.pi * hz * t)] * 2)


def test_a_calibration_tone_skips_the_music_checks_with_the_reason():
    c = checks(sine())
    for cid in MUSIC_ONLY:
        assert c[cid].status == "skip", c[cid]
        assert c[cid].message.startswith("a steady single tone (100% of the power in one spectral line)")
    assert "crest factor is 3 dB by nature" in c["over_compression"].message
    assert c["clipping"].status == "pass" and c["finite"].status == "pass"


def test_a_clipped_tone_still_fails_clipping_and_a_squashed_chord_still_fails_dynamics():
    assert checks(np.clip(sine(peak=1.0), -0.5, 0.5))["clipping"].status == "fail"
    t = np.arange(25 * SR) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6, 440.0, 1760.0)) / 5
    squashed = np.tanh(12 * chord)
    c = checks(np.stack([squashed, squashed]))["over_compression"]
    assert c.status == "fail" and c.value < c.threshold  # a chord is not one spectral line


@pytest.mark.reference
def test_ebu_and_bs2217_tones_no_longer_fail_dynamics_or_ending(reference):
    files = sorted((reference / "ebu-loudness-test-set-v05").glob("*.flac"))
    files += sorted((reference / "pyloudnorm-itu-bs2217").glob("*.wav"))
    assert len(files) == 21
    from qa.cli.check import context_from_config
    from qa.config import build_config

    ctx = context_from_config(build_config())
    for f in files:
        item = check_path(str(f), ctx)
        bad = {c.id for c in item.checks if c.status == "fail"} & {"over_compression", "truncated_end"}
        assert not bad, (f.name, bad)
