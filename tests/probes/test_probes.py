"""Probes on numpy and torch data of several dtypes, Module hooks, stage checks, the watchdog."""

import time

import numpy as np
import pytest
import torch

from qa.probes import Probe, stage_stats


def music_like(n=44100 * 2, seed=0):
    """Stereo band-limited noise with a 12 dB-ish crest: stands in for a decoded stage."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, n)).astype(np.float32) * 0.15
    x[1] = 0.7 * x[0] + 0.3 * x[1]
    return x


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_torch_stats_match_numpy_float64(dtype):
    x = music_like()
    t = torch.from_numpy(x).to(dtype)
    ref = t.float().double().numpy()
    s = stage_stats(t, kind="audio", layout="channels_first")
    assert s.dtype == str(dtype).replace("torch.", "")
    assert s.peak == pytest.approx(np.abs(ref).max(), rel=1e-6)
    assert s.rms == pytest.approx(np.sqrt((ref ** 2).mean()), rel=1e-4)
    assert s.dc == pytest.approx(ref.mean(), abs=1e-6)
    corr = (ref[0] * ref[1]).sum() / np.sqrt((ref[0] ** 2).sum() * (ref[1] ** 2).sum())
    assert s.lr_correlation == pytest.approx(corr, rel=1e-4)


def test_int16_pcm_is_read_in_full_scale_units():
    pcm = np.array([[16384, -32768, 0, 8192]] * 2, dtype=np.int16)
    for data in (pcm, torch.from_numpy(pcm)):
        s = stage_stats(data, kind="pcm", layout="channels_first")
        assert s.peak == 1.0 and s.full_scale == 32768.0
        assert s.dc == pytest.approx((0.5 - 1 + 0 + 0.25) / 4)
        assert s.max_step == pytest.approx(1.5)  # 0.5 -> -1.0


def test_nonfinite_counted_and_excluded():
    x = music_like()
    x[0, 10] = np.nan
    x[1, 20] = np.inf
    p = Probe()
    with p.stage("decode", kind="audio", layout="channels_first") as s:
        s.record(torch.from_numpy(x))
    r = p.records[0]
    assert r.stats.nonfinite == 2
    assert np.isfinite(r.stats.peak) and r.stats.peak < 1
    assert r.checks[0].id == "stage_finite" and r.checks[0].status == "fail"
    assert "2 of 176400 values are NaN or Inf" in r.checks[0].message


def test_float16_overflow_hint_and_first_bad_stage_message():
    p = Probe()
    x = torch.from_numpy(music_like())
    with p.stage("a", kind="audio", layout="channels_first") as s:
        s.record(x)
    with p.stage("b", kind="latent") as s:
        s.record((x.half() * 1e5))
    name, check = p.first_bad()
    assert name == "b"
    assert "float16 overflows" in p.records[1].checks[0].hint
    assert "Since 'a':" in check.message and "dtype float32 -> float16" in check.message


def test_shape_check_names_transpose():
    p = Probe()
    with p.stage("rearrange", kind="audio", shape=(2, 88200), layout="channels_first") as s:
        s.record(music_like().T)
    c = next(c for c in p.records[0].checks if c.id == "stage_shape")
    assert c.status == "fail" and "axes are swapped" in c.hint


def test_decorator_records_return_value():
    p = Probe()

    @p.wrap("gain", kind="audio", layout="channels_first")
    def gain(x):
        return x * 0.0

    out = gain(music_like())
    assert out.shape == (2, 88200)
    assert p.records[0].name == "gain" and p.records[0].stats.peak == 0.0
    assert p.first_bad()[0] == "gain"


def test_module_hooks_record_each_forward():
    p = Probe()
    lin = torch.nn.Linear(4, 4)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(4) * 2)
        lin.bias.zero_()
    h1, h2 = p.hook(lin, "proj", kind="latent", shape=(3, 4))
    with torch.no_grad():
        lin(torch.ones(3, 4))
        lin(torch.ones(5, 4))
    h1.remove(), h2.remove()
    assert [r.stats.shape for r in p.records] == [(3, 4), (5, 4)]
    assert p.records[0].stats.peak == 2.0 and p.records[0].status == "pass"
    assert p.records[1].status == "fail"  # shape (5, 4) is not the declared (3, 4)


def test_watchdog_attributes_blocking_stage():
    p = Probe(stall_to_stderr=False)
    with p.stage("fast", kind="control") as s:
        s.record(np.ones(3))
    with p.stage("blocking_save", kind="control", budget_s=0.2) as s:
        time.sleep(0.6)  # the deliberately blocking call
        s.record(np.ones(3))
    fast, slow = p.records
    assert fast.stall is None
    assert slow.stall["stage"] == "blocking_save" and slow.stall["elapsed_s"] >= 0.55
    main = [t for t in slow.stall["threads"] if t["name"] == "MainThread"][0]
    assert any("time.sleep(0.6)" in line for line in main["stack"])
    assert slow.checks[0].id == "stage_stall" and p.first_bad()[0] == "blocking_save"


def test_disabled_probe_records_nothing():
    p = Probe(enabled=False)
    with p.stage("x") as s:
        assert s.record(5) == 5
    assert p.records == []


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_fused_stats_match_float64_on_batches_and_layouts(layout):
    """The block-wise float32 reductions, accumulated in float64, agree with a float64
    reference to 1e-6 (the whole-tensor float32 reductions they replace were off by 6e-5)."""
    x = np.stack([music_like(44100 * 3 + 77, seed=1), 0.5 * music_like(44100 * 3 + 77, seed=2)])
    t = torch.from_numpy(x if layout == "channels_first" else np.ascontiguousarray(x.transpose(0, 2, 1)))
    s = stage_stats(t, kind="audio", layout=layout, sample_rate=44100)
    ref = x.astype(np.float64)
    rms = np.sqrt((ref ** 2).mean(axis=(0, 2)))
    corr = (ref[:, 0] * ref[:, 1]).sum() / np.sqrt((ref[:, 0] ** 2).sum() * (ref[:, 1] ** 2).sum())
    assert s.channel_rms == pytest.approx(tuple(rms), rel=1e-6)
    assert s.lr_correlation == pytest.approx(corr, rel=1e-6)
    assert s.rms == pytest.approx(np.sqrt((ref ** 2).mean()), rel=1e-6)
    assert s.dc == pytest.approx(ref.mean(), abs=1e-9)
    assert s.peak == np.abs(x).max()


def test_dropout_scan_exact_with_zero_and_tiny_blocks():
    """Blocks with no energy are confirmed by their exact peaks: 13 zeroed blocks are a
    dropout; a block of 1e-25 values (squares underflow float32 to 0) is not."""
    x = music_like(1024 * 40)
    x[:, 1024 * 10: 1024 * 23] = 0.0
    s = stage_stats(torch.from_numpy(x), kind="audio", layout="channels_first", sample_rate=44100)
    assert s.longest_zero_run_s == pytest.approx(13 * 1024 / 44100)
    x[:, 1024 * 10: 1024 * 23] = 1e-25
    s = stage_stats(torch.from_numpy(x), kind="audio", layout="channels_first", sample_rate=44100)
    assert s.longest_zero_run_s == 0.0
