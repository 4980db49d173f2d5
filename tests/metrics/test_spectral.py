"""qa.metrics.spectral on analytic signals: exact flatness, bandwidth edges, the dB scale and
the bounded, pooled spectrogram."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import butter, sosfilt, sosfreqz

from qa.metrics import spectral as S
from tests.conftest import sine

EULER_GAMMA = 0.5772156649015329


def test_full_scale_sine_on_a_bin_reads_0_db():
    sr, n_fft = 48000, 2048
    f = 40 * sr / n_fft  # exactly bin 40
    spec = S.average_spectrum(sine(f, sr, 2.0), sr, n_fft=n_fft)
    k = int(np.argmax(spec.db))
    assert spec.freqs_hz[k] == pytest.approx(f)
    assert spec.db[k] == pytest.approx(0.0, abs=0.05)


def test_flatness_of_white_noise_is_exp_minus_gamma_and_a_sine_is_zero():
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((1, 48000 * 4)) * 0.1
    # each periodogram bin is exponential: E[log P] = log E[P] - gamma
    assert S.spectral_flatness(noise, 48000).median == pytest.approx(math.exp(-EULER_GAMMA), abs=0.01)
    # two independent channels averaged: Gamma(2) bins, exp(psi(2)) / 2 = exp(1 - gamma) / 2
    stereo = rng.standard_normal((2, 48000 * 4)) * 0.1
    assert S.spectral_flatness(stereo, 48000).median == pytest.approx(math.exp(1 - EULER_GAMMA) / 2, abs=0.01)
    assert S.spectral_flatness(sine(997.0, 48000, 2.0, 0.5), 48000).median < 1e-4


def test_flatness_of_silence_is_none():
    r = S.spectral_flatness(np.zeros((2, 48000)), 48000)
    assert r.median is None and r.active_frames == 0


def minus_60_db_point(sos, sr: int) -> float:
    """The frequency where the filter's own response falls 60 dB below its passband."""
    f, h = sosfreqz(sos, worN=1 << 16, fs=sr)
    return float(f[np.flatnonzero(20 * np.log10(np.abs(h) + 1e-300) >= -60.0)[-1]])


@pytest.mark.parametrize("cutoff", [4000.0, 8000.0, 12000.0])
def test_bandwidth_of_lowpassed_noise_is_the_cutoff(cutoff):
    rng = np.random.default_rng(2)
    sos = butter(16, cutoff, fs=48000, output="sos")
    x = sosfilt(sos, rng.standard_normal(48000 * 3))[None, :] * 0.1
    spec = S.average_spectrum(x, 48000)
    bw = S.bandwidth_hz(spec)
    # white noise through the filter: the spectrum is the filter's response, so the edge is
    # where the response is 60 dB down (within the 4096-point bin spacing and smoothing)
    assert bw == pytest.approx(minus_60_db_point(sos, 48000), abs=60.0)
    assert S.edge_cliff_db(spec, bw) > 15  # a filter edge, not a natural roll-off
    assert S.energy_above(spec, cutoff * 2) < 1e-6


def test_bandwidth_is_robust_to_a_single_loud_tone():
    rng = np.random.default_rng(3)
    sos = butter(16, 6000.0, fs=48000, output="sos")
    x = sosfilt(sos, rng.standard_normal(48000 * 3)) * 0.1
    x = (x + 0.9 * sine(1000.0, 48000, 3.0)[0])[None, :]  # tone bin 53 dB above the noise bins
    bw = S.bandwidth_hz(S.average_spectrum(x, 48000))
    # the tone is not the reference: the edge stays where the noise is 60 dB down
    assert bw == pytest.approx(minus_60_db_point(sos, 48000), abs=60.0)


def test_peak_fraction_tone_vs_square():
    sr = 48000
    t = np.arange(sr * 2) / sr
    sq = np.sign(np.sin(2 * np.pi * 125.0 * t))[None, :] * 0.3
    assert S.peak_fraction(S.average_spectrum(sq, sr)) == pytest.approx(8 / np.pi**2, abs=0.01)
    assert S.peak_fraction(S.average_spectrum(sine(997.0, sr, 2.0), sr)) > 0.99


def test_log_spectrogram_shape_scale_and_pooling():
    sr = 44100
    x = sine(1000.0, sr, 10.0, amp=0.5, channels=2)
    full = S.log_spectrogram(x, sr, n_bins=128)
    assert full.db.dtype == np.float32 and full.db.shape == (128, 1 + x.shape[1] // 512)
    assert full.freqs_hz[0] == pytest.approx(20.0) and full.freqs_hz[-1] == pytest.approx(sr / 2)
    assert np.allclose(np.diff(np.log(full.freqs_hz)), np.log(full.freqs_hz[1] / full.freqs_hz[0]))
    band = int(np.argmin(np.abs(full.freqs_hz - 1000.0)))
    mid = full.db[:, full.db.shape[1] // 2]
    assert int(np.argmax(mid)) == band
    assert mid.min() == pytest.approx(S.FLOOR_DB, abs=1e-3) or mid.min() > S.FLOOR_DB
    small = S.log_spectrogram(x, sr, n_bins=128, max_columns=100)
    assert small.db.shape[1] <= 100 and small.pool == math.ceil(full.db.shape[1] / 100)
    # max pooling: every pooled column is the max of its frames
    p = small.pool
    assert np.allclose(small.db[:, 3], full.db[:, 3 * p : 4 * p].max(axis=1), atol=1e-4)
    assert small.times_s[-1] <= x.shape[1] / sr + 0.1


def test_spectrogram_click_survives_pooling():
    sr = 44100
    x = np.zeros((1, sr * 20))
    x[0, sr * 10] = 1.0
    sp = S.log_spectrogram(x, sr, max_columns=50)
    col = int(np.argmax(sp.db.max(axis=0)))
    assert abs(sp.times_s[col] - 10.0) < 20.0 / 50
    assert sp.db.max() > -60  # a one-sample click spread over 2048 points is still visible


def test_spectrogram_of_silence_is_the_floor():
    sp = S.log_spectrogram(np.zeros((2, 44100)), 44100)
    assert np.all(sp.db == np.float32(S.FLOOR_DB))


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="n_fft must be a power of two"):
        next(S.stft_power_chunks(np.zeros(4096), n_fft=1000))
    with pytest.raises(ValueError, match="fmin_hz must be in"):
        S.log_spectrogram(np.zeros((1, 4096)), 8000, fmin_hz=5000.0)
