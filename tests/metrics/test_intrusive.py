"""Intrusive metrics: published values on the reference pairs, analytic values, n/a rules."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qa.audio import Audio
from qa.loading import load_audio
from qa.codecs import SoundfileCodec, parse_codec
from qa.metrics.intrusive import (METRIC_NAMES, align, compare, seg_snr_db, si_sdr_db, snr_db,
                                  stoi)

NO_VISQOL = ("visqol_moslqo",)


def _noise(n: int, seed: int = 0, channels: int = 1) -> np.ndarray:
    """Band-limited noise (a real signal has no flat spectrum; the correlation peak is sharp)."""
    from scipy.signal import butter, lfilter

    x = np.random.default_rng(seed).standard_normal((channels, n))
    return lfilter(*butter(4, 0.3), x, axis=-1) * 0.2


def _load(reference, rel: str) -> Audio:
    return load_audio(reference / rel)


# -- published values --------------------------------------------------------------------------
@pytest.mark.reference
def test_pesq_and_stoi_reproduce_the_published_ludlows_values(reference):
    exp = json.loads((reference / "expected_values.json").read_text())
    ref = _load(reference, "ludlows-pesq/audio/speech.wav")
    deg = _load(reference, "ludlows-pesq/audio/speech_bab_0dB.wav")
    m = compare(ref, deg, content="speech", skip=NO_VISQOL).to_metrics()
    wb = next(p for p in exp["pesq"] if p["mode"] == "wb" and "ludlows" in p["ref"])
    nb = next(p for p in exp["pesq"] if p["mode"] == "nb" and "ludlows" in p["ref"])
    assert m["pesq_wb"] == wb["expected_mos_lqo"] == 1.0832337141036987
    assert m["pesq_nb"] == nb["expected_mos_lqo"] == 1.6072081327438354
    # STOI: Taal's MATLAB stoi.m gives 0.6739 on this pair (expected_values.json "stoi").
    assert m["stoi"] == pytest.approx(exp["stoi"][0]["expected_matlab_4dp"], abs=1e-3)
    assert m["stoi"] == pytest.approx(exp["stoi"][0]["expected_pystoi_0_3_3"], abs=1e-12)
    assert m["delay_samples"] == 0 and m["length_delta_samples"] == 0


@pytest.mark.reference
def test_segmental_snr_reproduces_loizou_composite(reference):
    """readme.txt:40 of Loizou's composite: SNRseg=3.991727 (files truncated to the shorter)."""
    r = _load(reference, "loizou-noizeus-composite/sp09.wav")
    d = _load(reference, "loizou-noizeus-composite/enhanced_logmmse.wav")
    n = min(r.frames, d.frames)
    assert seg_snr_db(r.samples[:, :n], d.samples[:, :n], 8000) == pytest.approx(3.991727, abs=1e-6)


VISQOL_CASES = ["audio_castanets_identity", "audio_guitar_64aac", "audio_harpsichord_96mp3",
                "audio_guitar_ref_vs_5s_deg"]


@pytest.mark.reference
@pytest.mark.slow
@pytest.mark.parametrize("case_id", VISQOL_CASES)
def test_visqol_audio_mode_matches_google_conformance(reference, case_id):
    exp = json.loads((reference / "expected_values.json").read_text())
    case = next(c for c in exp["visqol"]["cases"] if c["id"] == case_id)
    ref = _load(reference, f"google-visqol/{case['ref']}")
    deg = _load(reference, f"google-visqol/{case['deg']}")
    skip = tuple(n for n in METRIC_NAMES[2:] if n != "visqol_moslqo")
    m = compare(ref, deg, content="music", skip=skip).to_metrics()
    assert m["visqol_moslqo"] == pytest.approx(case["expected_moslqo"], abs=0.01)


# -- alignment ---------------------------------------------------------------------------------
@pytest.mark.parametrize("delay", [1234, -517, 0])
def test_known_delay_is_recovered_exactly(delay):
    x = _noise(48000 * 3, channels=2)
    if delay >= 0:
        y = np.concatenate([np.zeros((2, delay)), x], axis=1)
    else:
        y = x[:, -delay:]
    res = compare(Audio.from_array(x, 48000), Audio.from_array(y, 48000), skip=NO_VISQOL)
    assert res.metrics["delay_samples"] == delay
    assert res.metrics["length_delta_samples"] == y.shape[1] - x.shape[1]
    assert res.metrics["snr_db"] is None and "identical: lossless" in res.notes


def test_real_mp3_encoder_delay_is_recovered_exactly():
    """Written through a pipe, libsndfile's MP3 writer cannot add the LAME info tag, so the
    decoder keeps LAME's 576-sample encoder delay plus mpg123's 529-sample decoder delay."""
    x = Audio.from_array(_noise(44100 * 2, seed=3, channels=2).astype(np.float32), 44100)
    raw = SoundfileCodec("mp3:128 (no info tag)", "MP3", "MPEG_LAYER_III", 0.6649, "CONSTANT",
                         pipe=True)
    dec = raw.decode(raw.encode(x))
    res = compare(x, dec, skip=NO_VISQOL)
    assert res.metrics["delay_samples"] == 576 + 529
    # the gapless file (info tag written) has no delay left
    gapless = parse_codec("mp3:128")
    assert compare(x, gapless.decode(gapless.encode(x)), skip=NO_VISQOL).metrics["delay_samples"] == 0


def test_align_gain_match_reports_the_gain():
    x = _noise(16000)
    r, d, al = align(x, 0.5 * x, 16000, gain_match=True)
    assert al.gain == pytest.approx(2.0, rel=1e-12)
    assert np.allclose(r, d)


# -- analytic values ---------------------------------------------------------------------------
def test_snr_of_signal_plus_noise_at_a_known_ratio():
    x = _noise(48000, seed=1)
    n = np.random.default_rng(9).standard_normal(x.shape)
    n *= math.sqrt(np.sum(x**2) / np.sum(n**2) / 10 ** (20 / 10))  # exactly 20 dB below
    assert snr_db(x, x + n) == pytest.approx(20.0, abs=1e-9)


def test_si_sdr_ignores_scale_and_measures_the_orthogonal_error():
    x = _noise(48000, seed=2)
    x = x - x.mean()
    e = np.random.default_rng(4).standard_normal(x.shape)
    e -= e.mean()
    e -= (np.sum(e * x) / np.sum(x * x)) * x  # orthogonal to x
    target = 0.5 * x
    e *= math.sqrt(np.sum(target**2) / np.sum(e**2) / 10)  # 10 dB below the scaled target
    assert si_sdr_db(x, target + e) == pytest.approx(10.0, abs=1e-9)
    assert si_sdr_db(x, 3.0 * (target + e)) == pytest.approx(10.0, abs=1e-9)


def test_segmental_snr_of_stationary_noise_equals_the_snr():
    x = _noise(48000, seed=5)
    assert seg_snr_db(x, x * (1 + 10 ** (-15 / 20)), 48000) == pytest.approx(15.0, abs=1e-9)


# -- applicability ------------------------------------------------------------------------------
def test_silent_reference_gives_none_with_a_note():
    res = compare(Audio.from_array(np.zeros((1, 48000)), 48000),
                  Audio.from_array(_noise(48000), 48000))
    assert all(v is None for v in res.to_metrics().values())
    assert any(n.startswith("snr_db: n/a, the reference is silent") for n in res.notes)
    assert any(n.startswith("pesq_wb: n/a, the reference is silent") for n in res.notes)


def test_too_short_reference_gives_none_with_a_note():
    x = _noise(400)  # 25 ms at 16 kHz
    res = compare(Audio.from_array(x, 16000), Audio.from_array(x, 16000))
    assert all(v is None for v in res.to_metrics().values())
    assert "stoi: n/a, too short: ref 0.025 s, deg 0.025 s, at least 0.05 s needed" in res.notes


@pytest.mark.reference
def test_stoi_on_too_little_speech_is_none_not_pystoi_1e5(reference):
    ref = _load(reference, "ludlows-pesq/audio/speech.wav")
    deg = _load(reference, "ludlows-pesq/audio/speech_bab_0dB.wav")
    cut = slice(16000, 16000 + 4800)  # 0.3 s
    r = Audio.from_array(ref.samples[:, cut], 16000)
    d = Audio.from_array(deg.samples[:, cut], 16000)
    res = compare(r, d, content="speech", skip=NO_VISQOL)
    assert res.metrics["stoi"] is None and res.metrics["estoi"] is None
    assert any(n.startswith("stoi: n/a, too short: fewer than 30 active") for n in res.notes)
    assert res.metrics["snr_db"] is not None


def test_music_gets_no_speech_metrics():
    x = _noise(44100 * 2, channels=2)
    res = compare(Audio.from_array(x, 44100), Audio.from_array(x * 0.9, 44100), skip=NO_VISQOL)
    for name in ("stoi", "estoi", "pesq_wb", "pesq_nb"):
        assert res.metrics[name] is None
    assert ("pesq_wb: n/a, PESQ is a speech metric and the content is music "
            "(44100 Hz > 16000 Hz; --content speech to score it)") in res.notes
    assert res.metrics["snr_db"] == pytest.approx(20 * math.log10(1 / 0.1), abs=1e-6)


def test_wideband_pesq_on_8khz_is_none_with_the_reason():
    x = _noise(8000 * 2)
    res = compare(Audio.from_array(x, 8000), Audio.from_array(x * 0.5, 8000), skip=NO_VISQOL)
    assert res.metrics["pesq_wb"] is None
    assert any("wide-band PESQ needs 16 kHz audio, the reference is 8000 Hz" in n for n in res.notes)


def test_channel_and_rate_mismatch_are_noted():
    x = _noise(48000, channels=2)
    deg = Audio.from_array(x.mean(axis=0)[::3].copy(), 16000)
    res = compare(Audio.from_array(x, 48000), deg, skip=NO_VISQOL)
    assert "channels differ (ref 2, deg 1): both mixed to mono" in res.notes
    assert "deg resampled from 16000 Hz to the reference's 48000 Hz" in res.notes
    assert res.channels == 1


def test_stoi_function_matches_pystoi_on_equal_input():
    x = _noise(16000 * 2)[0]
    assert stoi(x, x, 16000) == pytest.approx(1.0, abs=1e-9)
