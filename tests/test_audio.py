"""qa.audio: layouts, integer scaling, torch tensors."""

import numpy as np
import pytest

from qa.audio import Audio, LayoutError


def test_1d_is_mono():
    a = Audio.from_array(np.zeros(100, dtype=np.float32), 8000)
    assert (a.channels, a.frames) == (1, 100)
    assert a.provenance.original_layout == "mono_1d"


def test_channels_first_is_taken_as_is():
    x = np.zeros((2, 44100), dtype=np.float32)
    a = Audio.from_array(x, 44100)
    assert (a.channels, a.frames) == (2, 44100)


def test_channels_last_without_layout_is_an_error_naming_the_fix():
    with pytest.raises(LayoutError) as e:
        Audio.from_array(np.zeros((441000, 2), dtype=np.float32), 44100)
    assert str(e.value) == (
        "expected audio shaped (channels, samples) but got (441000, 2); "
        "pass layout='channels_last' or transpose"
    )


def test_channels_last_with_layout():
    x = np.arange(20, dtype=np.float32).reshape(10, 2) / 100
    a = Audio.from_array(x, 8000, layout="channels_last")
    assert a.samples.shape == (2, 10)
    assert a.samples[1, 3] == pytest.approx(0.07)
    assert a.provenance.original_layout == "channels_last"


def test_ambiguous_small_array_says_which_shape_and_how():
    with pytest.raises(LayoutError, match=r"\(4, 8\).*layout='channels_first'.*layout='channels_last'"):
        Audio.from_array(np.zeros((4, 8), dtype=np.float32), 8000)


def test_neither_axis_a_channel_count():
    with pytest.raises(LayoutError, match=r"neither axis of shape \(1000, 2000\)"):
        Audio.from_array(np.zeros((1000, 2000), dtype=np.float32), 8000)


def test_3d_batch_asks_to_select_an_item():
    with pytest.raises(LayoutError, match=r"3-D array of shape \(1, 2, 100\); select one item first, e.g. x\[0\]"):
        Audio.from_array(np.zeros((1, 2, 100), dtype=np.float32), 8000)


def test_int16_scaled_by_32768():
    x = np.array([[-32768, 0, 16384, 32767]], dtype=np.int16)
    a = Audio.from_array(x, 8000, layout="channels_first")
    assert a.samples.tolist() == [[-1.0, 0.0, 0.5, 32767 / 32768]]
    assert a.provenance.original_dtype == "int16"


def test_int32_scaled_by_2_pow_31():
    x = np.array([-(2**31), 2**30], dtype=np.int32)
    assert Audio.from_array(x, 8000).samples.tolist() == [[-1.0, 0.5]]


def test_uint8_is_offset_binary():
    x = np.array([0, 128, 192], dtype=np.uint8)
    assert Audio.from_array(x, 8000).samples.tolist() == [[-1.0, 0.0, 0.5]]


def test_samples_are_read_only():
    a = Audio.from_array(np.zeros(10, dtype=np.float32), 8000)
    with pytest.raises(ValueError):
        a.samples[0, 0] = 1.0


def test_bad_sample_rate():
    with pytest.raises(ValueError, match="sample_rate must be a positive integer in Hz, got 0"):
        Audio.from_array(np.zeros(10, dtype=np.float32), 0)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "int16"])
def test_from_torch_dtypes(dtype):
    torch = pytest.importorskip("torch")
    t = torch.tensor([[0.5, -0.25, 0.0] * 10, [0.125, 0.0, -1.0] * 10])
    if dtype == "int16":
        t = (t * 32767).round().to(torch.int16)
        expect = np.round(t.numpy().astype(np.float64)) / 32768
    else:
        t = t.to(getattr(torch, dtype))
        expect = t.float().numpy()
    a = Audio.from_torch(t, 44100)
    assert a.provenance.original_dtype == f"torch.{dtype}"
    assert a.samples.dtype == np.float32
    np.testing.assert_allclose(a.samples, expect, rtol=0, atol=1e-7)


def test_from_torch_channels_last_error():
    torch = pytest.importorskip("torch")
    with pytest.raises(LayoutError, match=r"got \(48000, 2\)"):
        Audio.from_torch(torch.zeros(48000, 2), 48000)


def test_from_array_never_freezes_the_callers_array():
    x = np.zeros((2, 4410), np.float32)
    a = Audio.from_array(x, 44100)
    assert np.shares_memory(a.samples, x)  # no copy of a long buffer
    assert x.flags.writeable and not a.samples.flags.writeable
    x[0, 0] = 0.5  # the caller's next in-place write works
    assert a.samples[0, 0] == 0.5
    Audio(x, 44100)  # the dataclass itself does not freeze what it is given either
    assert x.flags.writeable


def test_save_check_and_assert_leave_a_user_buffer_writable(tmp_path):
    from qa.analyze import check_audio
    from qa.checks.engine import CheckContext
    from qa.io import save_audio
    from qa.pytest_plugin import assert_audio

    t = np.arange(44100) / 44100
    x = np.clip(0.4 * np.sin(2 * np.pi * 440 * t), -0.2, 0.2).astype(np.float32)[np.newaxis]
    save_audio(x, tmp_path / "a.wav", 44100)
    with pytest.raises(AssertionError, match="clipping"):  # flat tops at +-0.2: a failing check
        assert_audio(x, 44100)
    check_audio(Audio.from_array(x, 44100), CheckContext())
    x *= 0.5  # in place, as a pipeline reuses its buffer
    assert abs(float(x.max()) - 0.1) < 1e-6
