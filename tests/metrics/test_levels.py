"""qa.metrics.levels on analytic signals: exact values."""

import math

import numpy as np
import pytest

from qa.metrics.levels import db, level_stats

from tests.conftest import sine


def test_full_scale_sine_peak_rms_crest():
    x = sine(1000, 48000, 1.0, amp=1.0, phase=np.pi / 2)  # starts at the crest: peak exactly 1
    lv = level_stats(x.astype(np.float32))
    assert lv.peak == 1.0
    assert db(lv.rms) == pytest.approx(-3.0103, abs=1e-4)
    assert lv.crest_db == pytest.approx(3.0103, abs=1e-4)
    assert lv.dc == pytest.approx(0.0, abs=1e-9)


def test_half_scale_sine_is_minus_6_dbfs_peak():
    lv = level_stats(sine(1000, 48000, 1.0, amp=0.5, phase=np.pi / 2))
    assert db(lv.peak) == pytest.approx(-6.0206, abs=1e-4)
    assert db(lv.rms) == pytest.approx(-9.0309, abs=1e-4)


def test_known_dc():
    x = sine(100, 8000, 1.0, amp=0.25) + 0.1
    lv = level_stats(x)
    assert lv.dc == pytest.approx(0.1, abs=1e-12)
    assert lv.rms == pytest.approx(math.sqrt(0.25**2 / 2 + 0.01), rel=1e-9)


def test_known_clip_run():
    x = np.zeros((1, 1000))
    x[0, 100:150] = 1.0      # a 50-sample run at the rail
    x[0, 300:303] = -1.0     # a 3-sample run at the other rail
    x[0, 500] = 1.0          # a single full-scale sample: a peak, not a clip
    lv = level_stats(x)
    assert lv.longest_clip_run == 50
    assert lv.clip_runs == 2
    assert lv.clipped_samples == 53
    assert lv.clipped_fraction == 53 / 1000


def test_clip_run_across_block_edge_is_one_run():
    x = np.zeros((1, 200_000), dtype=np.float32)
    x[0, 65_530:65_546] = 1.0  # straddles the 65536-frame block boundary
    lv = level_stats(x)
    assert (lv.longest_clip_run, lv.clip_runs, lv.clipped_samples) == (16, 1, 16)


def test_nonfinite_count_and_first_position():
    x = np.full((2, 1000), 0.5, dtype=np.float32)
    x[1, 700:710] = np.nan
    x[0, 800] = np.inf
    lv = level_stats(x)
    assert lv.nonfinite_count == 11
    assert lv.first_nonfinite == (1, 700)
    assert lv.channels[1].nonfinite == 10
    assert lv.peak == 0.5  # levels are over the finite samples
    assert lv.channels[1].rms == pytest.approx(0.5)


def test_int16_wrap_counted_square_wave_not():
    t = np.arange(4800) / 48000
    over = 1.5 * np.sin(2 * np.pi * 50 * t)            # 50 Hz sine 3.5 dB over full scale
    codes = np.round(over * 32767).astype(np.int64)
    wrapped = ((codes + 32768) % 65536 - 32768) / 32768  # what an unclamped int16 cast does
    lv = level_stats(wrapped[np.newaxis, :])
    # Per 50 Hz period the sine crosses +1 and -1 once each way: 4 jumps, 5 periods.
    assert lv.wrap_jumps == 20
    square = np.sign(np.sin(2 * np.pi * 50 * t + 0.1))[np.newaxis, :]
    assert level_stats(square).wrap_jumps == 0


def test_denormals_counted():
    x = np.zeros((1, 1000), dtype=np.float32)
    x[0, :10] = 0.5
    x[0, 500:600] = np.float32(1e-40)  # subnormal in float32
    assert level_stats(x).denormal_count == 100


def test_all_zero():
    lv = level_stats(np.zeros((2, 100), dtype=np.float32))
    assert (lv.peak, lv.rms, lv.crest_db) == (0.0, 0.0, None)
    assert lv.to_metrics()["sample_peak_dbfs"] is None
