"""qa.metrics.loudness against EBU Tech 3341 / 3342 (signals generated here from the published
definitions), the real EBU / ITU test files, and pyloudnorm on stereo music."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from qa.metrics import loudness as L
from qa.metrics.loudness import measure_loudness
ROOT = Path(__file__).resolve().parents[2]

RATES = (48000, 44100)


def tone(dbfs: float, seconds: float, sr: int, channels: int = 2, freq: float = 1000.0) -> np.ndarray:
    """EBU test tone: 1 kHz sine, peak ``dbfs`` in every channel (Tech 3341 'sine at X dBFS')."""
    t = np.arange(int(round(seconds * sr))) / sr
    return np.tile(10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t), (channels, 1))


def silence(seconds: float, sr: int, channels: int = 2) -> np.ndarray:
    return np.zeros((channels, int(round(seconds * sr))))


def cat(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts, axis=1)


def test_k_weighting_matches_bs1770_coefficients_at_48k():
    sos = L.k_weighting_sos(48000)
    # BS.1770-4 Table 1 (pre-filter) and Table 2 (RLB).
    np.testing.assert_allclose(sos[0, :3], [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-10)
    np.testing.assert_allclose(sos[0, 4:], [-1.69065929318241, 0.73248077421585], atol=1e-10)
    np.testing.assert_allclose(sos[1, :3], [1.0, -2.0, 1.0])
    np.testing.assert_allclose(sos[1, 4:], [-1.99004745483398, 0.99007225036621], atol=1e-10)


@pytest.mark.parametrize("sr", RATES)
def test_k_weighting_gain_at_997_hz_is_the_bs1770_offset(sr):
    # A 0 dBFS 997 Hz sine in one channel reads -3.01 LKFS (BS.1770-4 §2.9): the filter's gain
    # at 997 Hz cancels the -0.691 offset (to 0.003 dB at 44.1/48 kHz; the bilinear transform
    # of the fitted prototypes drifts to +0.03 dB at 22.05 kHz and -0.02 dB at 96 kHz).
    _, h = signal.sosfreqz(L.k_weighting_sos(sr), worN=[997.0], fs=sr)
    assert 20 * np.log10(abs(h[0])) == pytest.approx(0.691, abs=0.005)
    r = measure_loudness(tone(0.0, 2.0, sr, channels=1, freq=997.0), sr)
    assert r.integrated_lufs == pytest.approx(-3.01, abs=0.01)


# --- EBU Tech 3341 cases 1-6: integrated (and M, S for 1-2), tolerance +-0.1 LU -------------

CASES_I = {
    1: lambda sr: tone(-23, 20, sr),
    2: lambda sr: tone(-33, 20, sr),
    3: lambda sr: cat(tone(-36, 10, sr), tone(-23, 60, sr), tone(-36, 10, sr)),
    4: lambda sr: cat(tone(-72, 10, sr), tone(-36, 10, sr), tone(-23, 60, sr), tone(-36, 10, sr),
                      tone(-72, 10, sr)),
    5: lambda sr: cat(tone(-26, 20, sr), tone(-20, 20.1, sr), tone(-26, 20, sr)),
}


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("case", sorted(CASES_I))
def test_tech3341_integrated(case, sr):
    r = measure_loudness(CASES_I[case](sr), sr)
    assert r.integrated_lufs == pytest.approx(-23.0 if case != 2 else -33.0, abs=0.1)
    if case in (1, 2):
        want = -23.0 if case == 1 else -33.0
        assert r.momentary_max_lufs == pytest.approx(want, abs=0.1)
        assert r.short_term_max_lufs == pytest.approx(want, abs=0.1)
        assert np.all(np.abs(r.momentary[:, 1] - want) < 0.1)
        assert np.all(np.abs(r.short_term[:, 1] - want) < 0.1)


@pytest.mark.parametrize("sr", RATES)
def test_tech3341_case6_five_channels(sr):
    # L, R -28 dBFS; C -24 dBFS; Ls, Rs -30 dBFS (weight 1.41) -> -23.0 LUFS.
    levels = (-28, -28, -24, -30, -30)
    x = np.concatenate([tone(v, 20, sr, channels=1) for v in levels])
    assert measure_loudness(x, sr).integrated_lufs == pytest.approx(-23.0, abs=0.1)
    assert measure_loudness(x, sr).channel_weights == (1.0, 1.0, 1.0, 1.41, 1.41)


@pytest.mark.parametrize("sr", RATES)
def test_five_one_excludes_lfe(sr):
    # 5.1 in WAV order L R C LFE Ls Rs: a loud LFE changes nothing.
    x = np.concatenate([tone(v, 10, sr, channels=1) for v in (-28, -28, -24, -6, -30, -30)])
    r = measure_loudness(x, sr)
    assert r.channel_weights == (1.0, 1.0, 1.0, 0.0, 1.41, 1.41)
    assert r.integrated_lufs == pytest.approx(-23.0, abs=0.1)
    # the LFE still counts for the true peak: it is the loudest channel
    assert r.true_peak_dbtp == pytest.approx(-6.0, abs=0.05)


def test_explicit_channel_weights_and_unknown_layout():
    sr = 48000
    x = np.concatenate([tone(-23, 5, sr, channels=1)] * 2 + [tone(-10, 5, sr, channels=1)] * 2)
    r = measure_loudness(x, sr)  # 4 channels: no standard order
    assert r.integrated_lufs is None and r.true_peak_dbtp == pytest.approx(-10.0, abs=0.05)
    assert any("no standard BS.1770 channel order for 4 channels" in n for n in r.notes)
    r = measure_loudness(x, sr, channel_weights=(1.0, 1.0, 0.0, 0.0))
    assert r.integrated_lufs == pytest.approx(-23.0, abs=0.1)
    with pytest.raises(ValueError, match="channel_weights has 2 entries for 4 channels"):
        measure_loudness(x, sr, channel_weights=(1.0, 1.0))


# --- Tech 3341 cases 9-14: short-term and momentary, tolerance +-0.1 LU ----------------------

@pytest.mark.parametrize("sr", RATES)
def test_tech3341_case9_short_term_constant(sr):
    x = cat(*[cat(tone(-20, 1.34, sr), tone(-30, 1.66, sr)) for _ in range(5)])
    s = measure_loudness(x, sr).short_term
    assert len(s) > 100 and np.all(np.abs(s[:, 1] + 23.0) < 0.1)


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("k", [0, 1, 7, 19])
def test_tech3341_case10_short_term_max(sr, k):
    x = cat(silence(0.15 * k, sr), tone(-23, 3, sr), silence(1, sr))
    assert measure_loudness(x, sr).short_term_max_lufs == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("i", [0, 9, 19])
def test_tech3341_case11_short_term_max_levels(sr, i):
    x = cat(silence(0.15 * i, sr), tone(-38 + i, 3, sr), silence(3 - 0.15 * i, sr))
    assert measure_loudness(x, sr).short_term_max_lufs == pytest.approx(-38.0 + i, abs=0.1)


@pytest.mark.parametrize("sr", RATES)
def test_tech3341_case12_momentary_constant_after_1s(sr):
    x = cat(*[cat(tone(-20, 0.18, sr), tone(-30, 0.22, sr)) for _ in range(25)])
    m = measure_loudness(x, sr).momentary
    after = m[m[:, 0] >= 1.0]
    assert len(after) > 80 and np.all(np.abs(after[:, 1] + 23.0) < 0.1)


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("k", [0, 1, 10, 19])
def test_tech3341_case13_momentary_max(sr, k):
    x = cat(silence(0.02 * k, sr), tone(-23, 0.4, sr), silence(1, sr))
    assert measure_loudness(x, sr).momentary_max_lufs == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("i", [0, 12, 19])
def test_tech3341_case14_momentary_max_levels(sr, i):
    x = cat(silence(0.02 * i, sr), tone(-38 + i, 0.4, sr), silence(0.4 - 0.02 * i, sr))
    assert measure_loudness(x, sr).momentary_max_lufs == pytest.approx(-38.0 + i, abs=0.1)


@pytest.mark.parametrize("sr", RATES)
def test_tech3341_case14_every_live_reading_of_the_series(sr):
    # The whole case 14 sequence: 20 bursts of 400 ms at -38 ... -19 dBFS, each 20 ms later in
    # its 0.8 s slot. Every successive "max momentary" reading of the series is within 0.1 LU
    # (a 100 ms series of block powers reads up to 0.97 LU low on the bursts between steps).
    x = cat(*[cat(silence(0.02 * i, sr), tone(-38 + i, 0.4, sr), silence(0.4 - 0.02 * i, sr))
              for i in range(20)])
    r = measure_loudness(x, sr)
    m = r.momentary
    for i in range(20):
        slot = m[(m[:, 0] > 0.8 * i + 1e-9) & (m[:, 0] <= 0.8 * (i + 1) + 1e-9)]
        assert slot[:, 1].max() == pytest.approx(-38.0 + i, abs=0.1), i
    assert m[:, 1].max() == pytest.approx(r.momentary_max_lufs, abs=1e-9)
    assert r.short_term[:, 1].max() == pytest.approx(r.short_term_max_lufs, abs=1e-9)


@pytest.mark.parametrize("sr, g", [(48000, 24), (44100, 21), (96000, 48), (22050, 9), (8000, 4),
                                   (11025, 1)])
def test_window_grid_divides_the_100ms_step(sr, g):
    # 11025 Hz: the 100 ms step is 1102.5 frames, so the maxima are read at every frame
    assert L.window_grid(sr) == g


def _per_frame_sums(x: np.ndarray, sr: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(t, sum of the K-weighted power of the frames t - w .. t - 1) for every window end t,
    straight from the definition: K-filter each channel, square, sum, running sum."""
    sos = L.k_weighting_sos(sr)
    z = sum(signal.sosfilt(sos, ch) ** 2 for ch in x)
    c = np.concatenate([[0.0], np.cumsum(z)])
    t = np.arange(w, x.shape[1] + 1)
    return t, c[t] - c[t - w]


def _lufs(power):
    return -0.691 + 10 * np.log10(power)


def _noise_steps(sr, rng):  # noise whose level jumps by up to 60 dB every 1000 frames
    n = 7 * sr
    return rng.standard_normal((2, n)) * 0.3 * np.repeat(rng.uniform(0.001, 1, n // 1000 + 1), 1000)[:n]


def _clicks(sr, rng):  # 200-frame clicks every 0.5 s: one enters the 3 s window as one leaves
    x = np.zeros((2, 7 * sr))
    for k in range(0, x.shape[1] - 200, sr // 2):
        x[:, k : k + 200] = rng.standard_normal((2, 200))
    return x


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("make, max_lu, reading_lu", [(_noise_steps, 0.005, 0.008), (_clicks, 0.03, 0.05)])
def test_sliding_maxima_and_readings_are_the_grid_of_the_per_frame_sums(sr, make, max_lu, reading_lu):
    # how far below the every-frame figures the grid reads, measured over 12 seeds (README,
    # loudness): noise 0.0035 LU (maxima) and 0.0055 LU (readings), clicks 0.029 and 0.050
    x = make(sr, np.random.default_rng(11))
    meter = L.LoudnessMeter(sr, 2, x.shape[1], with_true_peak=False)
    for s in range(0, x.shape[1], 9973):  # blocks that leave partial cells to carry over
        meter.feed(x[:, s : s + 9973])
    r = meter.result()
    g = L.window_grid(sr)
    for w, top, series in ((int(0.4 * sr), r.momentary_max_lufs, r.momentary),
                           (3 * sr, r.short_term_max_lufs, r.short_term)):
        t, p = _per_frame_sums(x, sr, w)
        on_grid = t % g == 0
        assert top == pytest.approx(_lufs(p[on_grid].max() / w), abs=1e-9)
        assert -1e-9 <= _lufs(p.max() / w) - top <= max_lu
        # each reading: the largest grid window from the previous reading's end to its own
        ends = np.round(series[:, 0] * sr).astype(int)
        for end, got in zip(ends, series[:, 1]):
            lo = max(end - int(round(0.1 * sr)), w)
            sel = on_grid & (t >= lo) & (t <= end)
            assert got == pytest.approx(_lufs(p[sel].max() / w), abs=1e-9), end
            every = (t >= lo) & (t <= end)
            assert -1e-9 <= _lufs(p[every].max() / w) - got <= reading_lu, end


# --- Tech 3341 cases 15-19: true peak, tolerance +0.2 / -0.4 dB ------------------------------
# Sine at fs/4, fs/6, fs/8 with the given phase; peak amplitude 0.5 (-6 dBFS) or 1.41 (+3);
# 1 s with 100 ms linear fades in and out, like the EBU v05 files (an abrupt start would add
# the interpolator's Gibbs overshoot to the edge, which is not what the cases test).
CASES_TP = {15: (4, 0.0, 0.5, -6.0), 16: (4, 45.0, 0.5, -6.0), 17: (6, 60.0, 0.5, -6.0),
            18: (8, 67.5, 0.5, -6.0), 19: (4, 45.0, 1.41, 3.0)}


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("case", sorted(CASES_TP))
def test_tech3341_true_peak(case, sr):
    div, phase, amp, want = CASES_TP[case]
    t = np.arange(sr) / sr
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.1)
    x = np.tile(ramp * amp * np.sin(2 * np.pi * sr / div * t + np.deg2rad(phase)), (2, 1))
    r = measure_loudness(x, sr)
    assert want - 0.4 <= r.true_peak_dbtp <= want + 0.2
    assert r.true_peak_channels_dbtp[0] == pytest.approx(r.true_peak_channels_dbtp[1])


@pytest.mark.parametrize("step", [L._TP_STEP, 1000])  # 1000: many steps, none aligned to blocks
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_true_peak_equals_full_polyphase_interpolation(monkeypatch, step, dtype):
    # The block pruning is exact: same maximum as interpolating every sample.
    monkeypatch.setattr(L, "_TP_STEP", step)
    rng = np.random.default_rng(3)
    h = L.interpolation_filter()
    for n in (1, 255, 256, 5000, 70001):
        x = (rng.standard_normal((1, n)) * rng.uniform(0.01, 1.0)).astype(dtype)
        full = max(np.abs(signal.upfirdn(h, x[0].astype(np.float64), up=4)).max(), np.abs(x).max())
        assert L.true_peak(x)[0] == pytest.approx(full, rel=1e-6)


# --- Tech 3342 cases 1-4: loudness range (published tolerance +-1 LU) ------------------------
CASES_LRA = {
    1: (lambda sr: cat(tone(-20, 20, sr), tone(-30, 20, sr)), 10.0),
    2: (lambda sr: cat(tone(-20, 20, sr), tone(-15, 20, sr)), 5.0),
    3: (lambda sr: cat(tone(-40, 20, sr), tone(-20, 20, sr)), 20.0),
    4: (lambda sr: cat(tone(-50, 20, sr), tone(-35, 20, sr), tone(-20, 20, sr),
                       tone(-35, 20, sr), tone(-50, 20, sr)), 15.0),
}


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("case", sorted(CASES_LRA))
def test_tech3342_lra(case, sr):
    make, want = CASES_LRA[case]
    assert measure_loudness(make(sr), sr).lra_lu == pytest.approx(want, abs=0.1)  # published: 1


# --- edge cases: mono, silence, sub-block, non-finite, chunking, series ----------------------

def test_mono_is_weighted_one_not_dual_mono():
    sr = 44100
    mono = measure_loudness(tone(-23, 5, sr, channels=1), sr).integrated_lufs
    stereo = measure_loudness(tone(-23, 5, sr, channels=2), sr).integrated_lufs
    assert stereo - mono == pytest.approx(10 * math.log10(2), abs=1e-6)


def test_silence_is_none_with_notes():
    r = measure_loudness(np.zeros((2, 48000 * 5)), 48000)
    assert all(v is None for v in r.to_metrics().values())
    text = " ".join(r.notes)
    assert "integrated_lufs: n/a, no 400 ms block is above the -70 LUFS absolute gate" in text
    assert "true_peak_dbtp: n/a, every sample is zero" in text
    assert "momentary_max_lufs: n/a, the K-weighted signal is silent" in text
    assert r.momentary.shape == (0, 2) and r.short_term.shape == (0, 2)


def test_sub_block_input():
    sr = 48000
    r = measure_loudness(tone(-10, 0.3, sr), sr)
    m = r.to_metrics()
    assert m["integrated_lufs"] is None and m["momentary_max_lufs"] is None
    assert m["short_term_max_lufs"] is None and m["lra_lu"] is None and m["plr_db"] is None
    assert m["true_peak_dbtp"] == pytest.approx(-10.0, abs=0.05)
    assert "integrated_lufs: n/a, the signal is shorter than one 400 ms gating block" in r.notes
    assert "momentary_max_lufs: n/a, the signal is shorter than 400 ms" in r.notes
    empty = measure_loudness(np.zeros((2, 0)), sr)
    assert all(v is None for v in empty.to_metrics().values())


def test_between_one_block_and_three_seconds():
    r = measure_loudness(tone(-23, 1.0, 48000), 48000)
    assert r.integrated_lufs == pytest.approx(-23.0, abs=0.1)
    assert r.short_term_max_lufs is None and r.lra_lu is None
    assert "short_term_max_lufs: n/a, the signal is shorter than 3 s" in r.notes


def test_nonfinite_input_is_none_with_note():
    x = tone(-23, 2, 48000)
    x[0, 100] = np.nan
    r = measure_loudness(x, 48000)
    assert all(v is None for v in r.to_metrics().values())
    assert r.notes == ("loudness: n/a, the signal has NaN or infinite samples (see the finite check)",)


def test_chunking_does_not_change_results(monkeypatch):
    sys.path.insert(0, str(ROOT / "fixtures"))
    from make_fixtures import render_song

    x = render_song(8.0, sr=44100, seed=2)
    whole = measure_loudness(x, 44100)
    monkeypatch.setattr(L, "CHUNK", 10007)  # many chunks, none aligned to blocks
    chunked = measure_loudness(x, 44100)
    for k, v in whole.to_metrics().items():
        assert chunked.to_metrics()[k] == pytest.approx(v, abs=1e-9), k
    np.testing.assert_allclose(chunked.momentary, whole.momentary, atol=1e-9)
    np.testing.assert_allclose(chunked.short_term, whole.short_term, atol=1e-9)


def test_meter_fed_in_uneven_blocks_equals_the_whole_array():
    sys.path.insert(0, str(ROOT / "fixtures"))
    from make_fixtures import render_song

    x = render_song(8.0, sr=44100, seed=2)
    whole = measure_loudness(x, 44100)
    meter = L.LoudnessMeter(44100, 2, x.shape[1])
    rng = np.random.default_rng(5)
    s = 0
    while s < x.shape[1]:  # blocks of 1 .. 30000 frames, some shorter than the filter's reach
        k = int(rng.choice([1, 7, 19, 30000, int(rng.integers(1, 30000))]))
        meter.feed(x[:, s : s + k])
        s += k
    got = meter.result()
    for k, v in whole.to_metrics().items():
        assert got.to_metrics()[k] == pytest.approx(v, abs=1e-9), k
    assert got.true_peak_channels_dbtp == pytest.approx(whole.true_peak_channels_dbtp, abs=1e-9)
    np.testing.assert_allclose(got.short_term, whole.short_term, atol=1e-9)


@pytest.mark.parametrize("at", [0, 1, 9, 10, 11, 20, 16 * 7])
def test_meter_true_peak_across_block_edges_is_the_full_interpolation(at):
    # A sine at fs/4 sampled 45 degrees off its crests (samples 0.354, true peak 0.5), faded in
    # and out so that only the cuts between the fed blocks could add an edge: each piece's
    # context must give the exact 4x maximum, and zero padding at a piece's edge must not
    # invent an overshoot (0.506 without the core limits).
    n = 8192
    t = np.arange(n)
    x = 0.5 * np.sin(2 * np.pi * 0.25 * t + np.pi / 4)
    fade = np.hanning(1024)
    x[:512] *= fade[:512]
    x[-512:] *= fade[512:]
    h = L.interpolation_filter()
    full = max(np.abs(signal.upfirdn(h, x, up=4)).max(), np.abs(x).max())
    assert full == pytest.approx(0.5, abs=2e-3)
    meter = L.LoudnessMeter(48000, 1, n)
    for s, e in ((0, 2048 + at), (2048 + at, 4096 + 2 * at), (4096 + 2 * at, n)):
        meter.feed(x[None, s:e])
    assert 10 ** (meter.result().true_peak_dbtp / 20) == pytest.approx(full, rel=1e-6)
    assert L.true_peak(x[None, : 2048 + at])[0] > full * 1.005  # the overshoot a cut makes


def test_meter_refuses_more_frames_than_declared_and_an_early_result():
    meter = L.LoudnessMeter(48000, 2, 100)
    meter.feed(np.zeros((2, 60)))
    with pytest.raises(ValueError, match="fed 60 of its 100 frames"):
        meter.result()
    with pytest.raises(ValueError, match=r"expected \(2, k\) blocks of 100 frames in all, got \(2, 41\) after 60"):
        meter.feed(np.zeros((2, 41)))


def test_series_shape_and_gating():
    sr = 48000
    x = cat(silence(2, sr), tone(-23, 4, sr))
    r = measure_loudness(x, sr)
    for s in (r.momentary, r.short_term):
        assert s.dtype == np.float64 and s.ndim == 2 and s.shape[1] == 2
        assert np.all(np.isfinite(s))
        assert np.allclose(np.diff(s[:, 0]) * 10, np.round(np.diff(s[:, 0]) * 10))
    # silent blocks (the first 2 s) are omitted: the first momentary row ends after 2.0 s
    assert r.momentary[0, 0] == pytest.approx(2.1) and r.momentary[-1, 0] == pytest.approx(6.0)
    assert r.short_term[-1, 1] == pytest.approx(-23.0, abs=0.01)
    series = r.series_metrics()
    assert series["momentary_series"][-1] == [pytest.approx(6.0), pytest.approx(-23.0, abs=0.01)]


def test_plr_is_true_peak_minus_integrated():
    r = measure_loudness(tone(-23, 5, 48000), 48000)
    assert r.plr_db == pytest.approx(r.true_peak_dbtp - r.integrated_lufs)
    assert r.plr_db == pytest.approx(0.0, abs=0.05)  # stereo sine: TP = -23 dBFS = -23 LUFS


def test_without_true_peak_the_loudness_figures_are_unchanged():
    x = cat(tone(-30, 2, 44100), tone(-18, 4, 44100))
    full = measure_loudness(x, 44100)
    fast = measure_loudness(x, 44100, with_true_peak=False)
    assert fast.true_peak_dbtp is None and fast.plr_db is None
    assert fast.true_peak_channels_dbtp == (None, None)
    assert fast.notes == ("true_peak_dbtp: not measured (with_true_peak=False), nor plr_db",)
    assert full.true_peak_dbtp == pytest.approx(-18.0, abs=0.05)
    assert fast.integrated_lufs == full.integrated_lufs == pytest.approx(-18.15, abs=0.05)  # transition blocks pass the gate
    assert (fast.lra_lu, fast.momentary_max_lufs, fast.short_term_max_lufs) == \
        (full.lra_lu, full.momentary_max_lufs, full.short_term_max_lufs)
    assert np.array_equal(fast.momentary, full.momentary) and np.array_equal(fast.short_term, full.short_term)


# --- real files with published values ---------------------------------------------------------

def _expected(reference):
    return json.loads((reference / "expected_values.json").read_text())


def _read(path):
    x, sr = sf.read(path, always_2d=True)
    return x.T, sr


@pytest.mark.reference
def test_ebu_test_set_v05_files(reference):
    cases = _expected(reference)["loudness_ebu_tech3341"]["files"]
    for rel, want in cases.items():
        x, sr = _read(reference / rel)
        r = measure_loudness(x, sr)
        if "I" in want:
            assert r.integrated_lufs == pytest.approx(want["I"], abs=want["tol"]), rel
            assert r.momentary_max_lufs == pytest.approx(want["M"], abs=want["tol"]), rel
            assert r.short_term_max_lufs == pytest.approx(want["S"], abs=want["tol"]), rel
        if "S_max" in want:
            assert r.short_term_max_lufs == pytest.approx(want["S_max"], abs=want["tol"]), rel
        if "M_max" in want:
            assert r.momentary_max_lufs == pytest.approx(want["M_max"], abs=want["tol"]), rel
        if "M_constant_after_1s" in want:
            m = r.momentary[r.momentary[:, 0] >= 1.0]
            assert np.all(np.abs(m[:, 1] - want["M_constant_after_1s"]) <= want["tol"]), rel
        if "true_peak_dbtp" in want:
            tp = want["true_peak_dbtp"]
            assert tp - want["tol_minus"] <= r.true_peak_dbtp <= tp + want["tol_plus"], rel


@pytest.mark.reference
def test_itu_bs2217_files(reference):
    cases = _expected(reference)["loudness_itu_bs2217"]
    for rel in ("pyloudnorm-itu-bs2217/1770-2_Comp_RelGateTest.wav",
                "pyloudnorm-itu-bs2217/1770-2_Comp_AbsGateTest.wav"):
        x, sr = _read(reference / rel)
        assert measure_loudness(x, sr).integrated_lufs == pytest.approx(cases[rel]["I"], abs=cases[rel]["tol"])
    # pyloudnorm's own value for its sine_1000.wav (-3.0523) comes from its approximate
    # K-filter; the BS.1770 filter reads -3.007 here (a 1 kHz full-scale mono sine: -3.01).
    x, sr = _read(reference / "pyloudnorm-itu-bs2217/sine_1000.wav")
    i = measure_loudness(x, sr).integrated_lufs
    assert i == pytest.approx(-3.0074, abs=0.001)
    assert i == pytest.approx(cases["pyloudnorm-itu-bs2217/sine_1000.wav"]["I"], abs=0.1)


# ffmpeg ebur128=peak=true on the real music (README §3.3), displayed to 0.1 dB.
FFMPEG_MUSIC = {"castanets48_stereo.wav": (-30.0, -4.7), "glock48_stereo.flac": (-24.6, -9.0),
                "strauss48_stereo.flac": (-12.1, -0.7), "steely48_stereo.flac": (-28.1, -11.6)}


@pytest.mark.reference
@pytest.mark.parametrize("name", sorted(FFMPEG_MUSIC))
def test_real_music_against_ffmpeg_and_pyloudnorm(reference, name):
    pyloudnorm = pytest.importorskip("pyloudnorm", reason="pip install 'audio-qa[metrics]'")
    x, sr = _read(reference / "google-visqol/conformance_testdata_subset" / name)
    r = measure_loudness(x, sr)
    i_ff, tp_ff = FFMPEG_MUSIC[name]
    assert r.integrated_lufs == pytest.approx(i_ff, abs=0.1)
    assert r.true_peak_dbtp == pytest.approx(tp_ff, abs=0.1)
    assert r.integrated_lufs == pytest.approx(pyloudnorm.Meter(sr).integrated_loudness(x.T), abs=0.1)


def test_pyloudnorm_cross_check_on_stereo_music():
    pyloudnorm = pytest.importorskip("pyloudnorm", reason="pip install 'audio-qa[metrics]'")
    sys.path.insert(0, str(ROOT / "fixtures"))
    from make_fixtures import render_song

    for sr in RATES:
        x = render_song(12.0, sr=sr, seed=5)
        ours = measure_loudness(x, sr).integrated_lufs
        assert ours == pytest.approx(pyloudnorm.Meter(sr).integrated_loudness(x.T), abs=0.1)
