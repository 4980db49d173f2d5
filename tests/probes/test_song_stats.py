"""What a stage sees of the song-level faults: an exact latent loop, short gaps of digital zero
(buffer underruns) and leading/trailing digital silence, on constructed data with known answers;
and the stage checks that read them, with their thresholds from the profile."""

import numpy as np
import pytest
import torch

from qa.probes import Probe, stage_stats
from qa.probes.song_stats import GAP_MIN_SAMPLES, latent_loop
from qa.probes.stats import DROPOUT_BLOCK
SR = 44100


def assert_failing_side(c):
    """Every one of these stage checks fails at or above its threshold."""
    assert c.value >= c.threshold, c


def latent(frames=400, seed=0):
    return torch.randn(1, frames, 64, generator=torch.Generator().manual_seed(seed))


def stuck(x, start, span):
    y = x.clone()
    n = y.shape[1]
    src = start - span + (np.arange(start, n) - start) % span
    y[:, start:] = y[:, src]
    return y


def tone(seconds=4.0, level=0.5):
    t = np.arange(int(seconds * SR)) / SR
    x = level * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 3100 * t)
    return np.stack([x, 0.8 * x]).astype(np.float32)


def only(records, check_id):
    [c] = [c for r in records for c in r.checks if c.id == check_id]
    return c


# -- latent loops --------------------------------------------------------------------------------

def test_latent_loop_lag_span_and_fraction_are_exact():
    loop = latent_loop(stuck(latent(), 180, 43))
    # frames 180.. repeat the 43 frames before them: the loop is frames 137..400
    assert (loop.lag, loop.start, loop.end, loop.frames) == (43, 180, 400, 400)
    assert loop.to_end and loop.fraction == pytest.approx((400 - 137) / 400)


def test_loop_that_stops_is_not_to_the_end_and_fresh_noise_has_none():
    x = stuck(latent(), 100, 20)
    x[:, 300:] = latent(100, seed=5)[:, :100]  # the music changes at frame 300
    loop = latent_loop(x)
    assert (loop.lag, loop.start, loop.end) == (20, 100, 300) and not loop.to_end
    assert latent_loop(latent(seed=3)) is None


def test_latent_loop_tolerates_float_rounding_not_a_regenerated_span():
    x = stuck(latent(), 200, 43)
    y = x + 1e-6 * torch.randn(x.shape, generator=torch.Generator().manual_seed(9))
    assert latent_loop(y).start == 200  # float noise far under 1e-3 of the frame norm
    z = x.clone()
    z[:, 200:] += 0.1 * torch.randn(1, 200, 64, generator=torch.Generator().manual_seed(4))
    assert latent_loop(z) is None  # a span regenerated with new noise (5 % of the norm) is music


def test_stage_repetition_fails_a_stuck_sampler_and_passes_a_fresh_one():
    p = Probe()
    for name, x in (("stuck", stuck(latent(), 180, 43)), ("fresh", latent(seed=1))):
        with p.stage(name, kind="latent", layout="batch_frames_channels", frame_rate=21.5) as s:
            s.record(x)
    bad, good = (only([r], "stage_repetition") for r in p.records)
    assert bad.status == "fail" and bad.threshold == 0.25
    assert_failing_side(bad)
    assert "a span of 43 frames (2.00 s) repeats exactly from frame 137 (6.4 s) to frame 400" in bad.message
    assert good.status == "pass" and good.value == 0.0


# -- gaps (buffer underruns) ---------------------------------------------------------------------

def test_gaps_are_counted_with_their_positions_and_lengths():
    x = tone()
    holes = [(30000, 96), (70000, GAP_MIN_SAMPLES), (120000, 176)]  # 176 samples: 4 ms
    for a, n in holes:
        x[:, a:a + n] = 0.0
    x[:, 150000:150000 + GAP_MIN_SAMPLES - 1] = 0.0  # one sample short of a gap
    for data in (x, torch.from_numpy(x)):
        g = stage_stats(data, kind="audio", layout="channels_first", sample_rate=SR).gaps
        assert g.count == 3 and g.listed == tuple(holes) and g.longest == 176


def test_silence_a_decay_runs_into_and_a_dropout_block_are_not_gaps():
    x = tone()
    env = np.exp(-np.arange(20000) / 800.0).astype(np.float32)  # decays to -108 dB
    x[:, 40000:60000] *= env
    x[:, 60000:60300] = 0.0  # exact zeros after the decay: a rest, not a hole
    x[:, 100000:100000 + 177] = 0.0  # longer than 4 ms: a closure of synthetic speech, not an underrun
    x[:, 110000:110000 + DROPOUT_BLOCK] = 0.0  # a whole block: stage_dropout's
    x[1, 130000:130200] = 0.0  # one channel only: the other still sounds
    g = stage_stats(x, kind="audio", layout="channels_first", sample_rate=SR).gaps
    assert g.count == 0


def test_int16_low_level_zero_crossings_are_not_gaps():
    # a -50 dBFS 40 Hz tone quantised to int16 sits on code 0 for a few samples per crossing
    t = np.arange(SR) / SR
    pcm = np.round(0.00316 * np.sin(2 * np.pi * 40 * t) * 32767).astype(np.int16)
    pcm = np.stack([pcm, pcm])
    assert stage_stats(pcm, kind="pcm", layout="channels_first", sample_rate=SR).gaps.count == 0


def test_stage_clicks_names_the_underruns():
    x = tone()
    for a in (44100, 88200):
        x[:, a:a + 96] = 0.0
    p = Probe()
    with p.stage("vae_decode", kind="audio", layout="channels_first", sample_rate=SR) as s:
        s.record(x)
    c = only(p.records, "stage_clicks")
    assert c.status == "fail" and c.value == 2 and c.threshold == 1
    assert "2 gap(s) of exact digital zero inside loud signal at 1.000 s (96 samples), 2.000 s (96 samples)" in c.message


# -- dead air ------------------------------------------------------------------------------------

def test_leading_and_trailing_zero_blocks_in_seconds():
    music = tone()[:, : 170 * DROPOUT_BLOCK]
    x = np.concatenate([np.zeros((2, 10 * DROPOUT_BLOCK), np.float32), music,
                        np.zeros((2, 3 * DROPOUT_BLOCK + 7), np.float32)], axis=1)
    s = stage_stats(x, kind="audio", layout="channels_first", sample_rate=SR)
    assert s.lead_zero_s == pytest.approx(10 * DROPOUT_BLOCK / SR)
    assert s.trail_zero_s == pytest.approx(3 * DROPOUT_BLOCK / SR)  # whole blocks: the 7 samples after the last block are not scanned


@pytest.mark.parametrize("lead_s, expect", [(7.0, "fail"), (4.0, "warn"), (1.0, "pass")])
def test_stage_dead_air_reads_the_dead_air_thresholds(lead_s, expect):
    x = np.concatenate([np.zeros((2, int(lead_s * SR)), np.float32), tone(8.0)], axis=1)
    p = Probe()
    with p.stage("vae_decode", kind="audio", layout="channels_first", sample_rate=SR) as s:
        s.record(torch.from_numpy(x))
    c = only(p.records, "stage_dead_air")
    assert c.status == expect, c
    if expect != "pass":
        assert c.threshold == {"fail": 6.0, "warn": 3.0}[expect] and "the song starts late" in c.message
        assert_failing_side(c)
