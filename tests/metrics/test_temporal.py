"""qa.metrics.temporal on analytic signals: correlation, dropout length and edges, lag
autocorrelation, seam jumps and the periodic-jump search."""

from __future__ import annotations

import numpy as np
import pytest

from qa.metrics import temporal as T
from tests.conftest import sine


def test_correlation_identical_inverted_and_mono():
    x = np.random.default_rng(0).standard_normal(48000) * 0.1
    same = T.stereo_image(np.stack([x, x]))
    assert same.lr_correlation == pytest.approx(1.0) and same.side_to_mid_db is None
    inv = T.stereo_image(np.stack([x, -x]))
    assert inv.lr_correlation == pytest.approx(-1.0) and inv.side_to_mid_db is None
    mono = T.stereo_image(x[None, :])
    assert mono.lr_correlation is None and "mono" in mono.reason
    half = T.stereo_image(np.stack([x, 0.5 * x + np.sqrt(0.75) * np.random.default_rng(1).standard_normal(48000) * 0.1]))
    assert half.lr_correlation == pytest.approx(0.5, abs=0.01)
    dead = T.stereo_image(np.stack([x, np.zeros_like(x)]))
    assert dead.lr_correlation is None and "silent" in dead.reason


def test_dropout_length_and_cliff_edges():
    sr = 48000
    x = sine(440.0, sr, 6.0, 0.5, channels=2)
    x[:, 2 * sr : 2 * sr + 72000] = 0.0  # 1.5 s
    d = T.low_energy_runs(x, sr)
    assert d.longest_s == pytest.approx(1.5, abs=0.011)
    r = d.runs[0]
    assert r.start_s == pytest.approx(2.0, abs=0.011)
    assert r.edge_before_db < 1.0 and r.edge_after_db < 1.0  # the sine is at its level up to the cut


def test_faded_pause_has_deep_edges_and_lead_in_fade_out_are_ignored():
    sr = 48000
    x = sine(440.0, sr, 8.0, 0.5)[0]
    n = x.size
    env = np.ones(n)
    ramp = np.linspace(1, 0, sr) ** 3  # 1 s fade to silence
    env[2 * sr : 3 * sr] = ramp
    env[3 * sr : 5 * sr] = 0.0
    env[5 * sr : 6 * sr] = ramp[::-1]
    env[: sr // 2] = 0.0  # lead-in silence
    env[-sr // 2 :] = 0.0  # tail
    d = T.low_energy_runs((x * env)[None, :], sr)
    r = d.runs[0]
    assert r.duration_s > 2.0 and r.start_s > 2.0  # the pause, not the lead-in or the tail
    assert r.edge_before_db > 20.0 and r.edge_after_db > 20.0
    assert all(q.start_s > 0.5 and q.start_s + q.duration_s < 7.5 for q in d.runs)


def test_lag_autocorrelation_of_a_sine_and_of_an_interleave():
    x = np.sin(0.1 * np.arange(100000))
    il = T.lag_autocorrelation(x[None, :])
    assert il.r1 == pytest.approx(np.cos(0.1), abs=1e-4) and il.r2 == pytest.approx(np.cos(0.2), abs=1e-4)
    assert il.excess < 0
    stereo = np.stack([x, np.random.default_rng(0).standard_normal(x.size)])
    scrambled = np.ascontiguousarray(stereo.T).reshape(2, -1)
    assert T.lag_autocorrelation(scrambled).excess > 0.3


def test_seam_jump_is_the_step_relative_to_the_typical_change():
    sr = 48000
    x = sine(100.0, sr, 1.0, 0.5)
    x[:, 24000:] += 0.05
    e = np.diff(x[0, 24000 - 512 : 24000 + 512], 2)  # e[j] belongs to frame 24000 - 512 + j + 2
    j = 510
    typical = np.sqrt(np.mean(np.delete(e, range(j - 2, j + 3)) ** 2))
    r = T.seam_discontinuity(x, [24000, 12000])
    assert abs(e[j]) == pytest.approx(0.05, abs=1e-3)  # the step shows in full at the seam
    assert r[0] == pytest.approx(abs(e[j]) / typical, rel=1e-9)
    assert r[0] > 500 and r[1] < 2.0
    assert np.isnan(T.seam_discontinuity(x, [0, 10**9])).all()


def test_periodic_jumps_are_found_with_their_period_and_phase():
    sr = 48000
    rng = np.random.default_rng(5)
    x = sine(220.0, sr, 4.0, 0.3, channels=2) + 0.01 * sine(3000.0, sr, 4.0, channels=2)
    period, phase = 6000, 1234
    offsets = rng.uniform(-0.02, 0.02, size=40)
    k = np.maximum(0, (np.arange(x.shape[1]) - phase) // period + 1)
    x = x + offsets[k]
    s = T.find_periodic_jumps(x, sr)
    # offsets[0] and offsets[1] differ by 1.2e-4 FS: the join at 1234 makes no jump (ratio
    # 0.24), so the first seam the grid reports is the next one
    assert abs(offsets[1] - offsets[0]) < 2e-4
    assert s.period == period and s.phase == phase + period
    assert s.median_ratio > 10


def test_a_longer_first_chunk_starts_the_grid_at_the_first_join():
    # DiffRhythm-like: the first chunk is longer than the rest (112 then 96 x 2048 frames), so
    # the grid's residue lands periods before the first join; the search reports the join.
    sr = 48000
    rng = np.random.default_rng(5)
    x = sine(220.0, sr, 4.0, 0.3, channels=2) + 0.01 * sine(3000.0, sr, 4.0, channels=2)
    period, first = 6000, 1234 + 2 * 6000
    offsets = rng.uniform(0.01, 0.02, size=40) * np.where(np.arange(40) % 2, 1, -1)
    k = np.maximum(0, (np.arange(x.shape[1]) - first) // period + 1)
    x = x + offsets[k] - offsets[0]
    s = T.find_periodic_jumps(x, sr)
    assert (s.period, s.phase) == (period, first)
    assert s.seams == len(range(first, x.shape[1] - 2, period))

def test_stereo_image_under_a_large_dc_offset_keeps_its_precision():
    # float32 sums: the mean comes off first, so a DC of 0.5 under a 1e-3 signal loses nothing
    t = np.arange(48000) / 48000.0
    s, c = np.sin(2 * np.pi * 100 * t), np.cos(2 * np.pi * 100 * t)
    same = T.stereo_image(np.stack([0.5 + 1e-3 * s, -0.3 + 2e-3 * s]).astype(np.float32))
    assert same.lr_correlation == pytest.approx(1.0, abs=1e-5)
    quad = T.stereo_image(np.stack([0.5 + 1e-3 * s, 0.5 + 1e-3 * c]).astype(np.float32))
    assert quad.lr_correlation == pytest.approx(0.0, abs=1e-4)  # sin and cos: uncorrelated
