"""The foundation checks: no false alarm on real audio, every fault class caught by its id."""

import struct

import numpy as np
import pytest
import soundfile as sf

from qa.analyze import check_path
from qa.checks import CheckContext
from qa.profiles import load_profile

from tests.conftest import ROOT, reference_params

FOUNDATION_CHECKS = {
    "readable", "finite", "not_silent", "channel_silent", "clipping", "int16_wrap",
    "quantization", "dc_offset", "layout", "sample_rate", "duration", "denormals",
}


@pytest.mark.reference
@pytest.mark.parametrize("path", reference_params(), ids=lambda p: p.name)
def test_real_music_and_speech_pass(reference, path):
    item = check_path(str(path), CheckContext())
    bad = [(c.id, c.status, c.message) for c in item.checks
           if c.id in FOUNDATION_CHECKS and c.status not in ("pass", "skip")]
    assert bad == []


@pytest.fixture(scope="module")
def music():
    """6 s of generated stereo music (the checkout's fixture song, 44.1 kHz) as float64
    (frames, 2): the fault tests run without ../shared; the reference files stay for the
    no-false-alarm tests above."""
    x, sr = sf.read(ROOT / "fixtures" / "audio" / "song_pop_10s.flac")
    return x[: 6 * sr], sr


def _status(item, check_id):
    c = item.check(check_id)
    assert c is not None, f"no {check_id} check in {[c.id for c in item.checks]}"
    return c.status, c.message


def _write(tmp_path, name, x, sr, subtype="PCM_16"):
    p = tmp_path / name
    sf.write(p, x, sr, subtype=subtype)
    return str(p)


def test_all_zero(tmp_path, music):
    x, sr = music
    item = check_path(_write(tmp_path, "zero.wav", np.zeros_like(x), sr), CheckContext())
    assert _status(item, "not_silent") == ("fail", "every sample is zero: the file is digital silence")


def test_near_silent(tmp_path, music):
    x, sr = music
    item = check_path(_write(tmp_path, "quiet.wav", x * 10 ** (-60 / 20), sr, "FLOAT"), CheckContext())
    status, msg = _status(item, "not_silent")
    peak = 20 * np.log10(np.abs(x).max()) - 60  # the song's own peak, 60 dB down
    assert status == "fail" and msg.startswith(f"near-silent: peak {peak:.1f} dBFS")


def test_one_silent_channel(tmp_path, music):
    x, sr = music
    y = x.copy()
    y[:, 1] = 0
    status, msg = _status(check_path(_write(tmp_path, "mono.wav", y, sr), CheckContext()), "channel_silent")
    assert (status, msg) == ("fail", "channel 1 is dead: all zero")


def test_nan_burst_float_wav(tmp_path, music):
    x, sr = music
    y = x.astype(np.float32)
    y[sr * 2 : sr * 2 + 4800, :] = np.nan
    item = check_path(_write(tmp_path, "nan.wav", y, sr, "FLOAT"), CheckContext())
    status, msg = _status(item, "finite")
    assert status == "fail"
    assert msg == f"9600 non-finite samples (NaN/inf), the first in channel 0 at 2.000 s (frame {2 * sr})"


def test_hard_clipping(tmp_path, music):
    x, sr = music
    y = np.clip(x * 8, -1, 1)
    status, msg = _status(check_path(_write(tmp_path, "clip.wav", y, sr), CheckContext()), "clipping")
    assert status == "fail" and "of samples sit at full scale" in msg


def test_int16_wrap(tmp_path, music):
    x, sr = music
    codes = np.round(x * 4 * 32767).astype(np.int64)  # 12 dB of gain, no clamp
    wrapped = ((codes + 32768) % 65536 - 32768).astype(np.int16)
    p = tmp_path / "wrap.wav"
    sf.write(p, wrapped, sr, subtype="PCM_16")
    status, msg = _status(check_path(str(p), CheckContext()), "int16_wrap")
    assert status == "fail" and "wrap-around jumps" in msg


def test_square_wave_quantization(tmp_path, music):
    x, sr = music
    # The torchaudio >= 2.9 int16 trap: PCM-scale values handed to a float API, clamped to +-1.
    y = np.clip(np.round(x * 32767), -1, 1)
    item = check_path(_write(tmp_path, "square.wav", y, sr, "FLOAT"), CheckContext())
    status, msg = _status(item, "quantization")
    assert status == "fail"
    assert msg.startswith("only 3 distinct sample values")


def test_dc_offset(tmp_path, music):
    x, sr = music
    status, msg = _status(check_path(_write(tmp_path, "dc.wav", x + 0.05, sr), CheckContext()), "dc_offset")
    dc = (x + 0.05).mean(axis=0)  # per channel; the check names the worst one
    ch = int(np.argmax(np.abs(dc)))
    assert status == "fail" and msg.startswith(f"DC offset {dc[ch]:+.4f} full scale") and msg.endswith(f"in channel {ch}")


def test_transposed_layout(tmp_path, music):
    x, sr = music
    p = _write(tmp_path, "transposed.wav", x[:600].T, sr)  # (2, 600) written as 2 frames x 600 ch
    status, msg = _status(check_path(p, CheckContext()), "layout")
    assert status == "fail" and msg.startswith("600 channels x 2 frames")


def test_wrong_sample_rate_label(tmp_path, music):
    x, sr = music
    item = check_path(_write(tmp_path, "rate.wav", x, 44100), CheckContext(expect_sample_rate=48000))
    status, msg = _status(item, "sample_rate")
    assert status == "fail"
    assert msg == "labelled 44100 Hz, expected 48000 Hz: played back at 0.919x speed (-1.47 semitones)"


def test_duration_mismatch_two_songs_concatenated(tmp_path, music):
    x, sr = music
    item = check_path(_write(tmp_path, "double.wav", np.concatenate([x, x]), sr),
                      CheckContext(expect_duration=6.0))
    c = item.check("duration")
    assert c.status == "fail" and c.value == pytest.approx(12.0)
    assert c.hint.startswith("about twice the expected length")


def test_denormal_tail(tmp_path, music):
    x, sr = music
    y = x.astype(np.float32)
    tail = np.float32(1e-39) * np.exp(-np.arange(sr) / sr).astype(np.float32)
    y[-sr:, :] = tail[:, None]
    status, msg = _status(check_path(_write(tmp_path, "den.wav", y, sr, "FLOAT"), CheckContext()), "denormals")
    assert status == "fail" and msg.startswith(f"{2 * sr} denormal samples")


def test_truncated_file(tmp_path, music):
    x, sr = music
    p = _write(tmp_path, "cut.wav", x, sr)
    data = open(p, "rb").read()
    open(p, "wb").write(data[: len(data) // 3])
    item = check_path(p, CheckContext())
    assert item.status == "fail"
    c = item.check("readable")
    assert c.status == "fail" and "the file was cut short" in c.message


def test_unfinalized_header(tmp_path, music):
    x, sr = music
    p = _write(tmp_path, "unfinal.wav", x, sr)
    b = bytearray(open(p, "rb").read())
    i = b.index(b"data")
    b[i + 4 : i + 8] = struct.pack("<I", 0)
    open(p, "wb").write(bytes(b))
    c = check_path(p, CheckContext()).check("readable")
    assert c.status == "fail" and "a placeholder" in c.message
    assert c.hint.startswith("re-export the file")


def test_profile_override_changes_verdict(tmp_path, music):
    x, sr = music
    p = _write(tmp_path, "dc.wav", x + 0.02, sr)
    assert check_path(p, CheckContext()).check("dc_offset").status == "warn"
    strict = load_profile(overrides={"dc_offset": {"fail_abs": 0.015}})
    assert check_path(p, CheckContext(profile=strict)).check("dc_offset").status == "fail"
