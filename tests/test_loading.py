"""qa.loading: every bad input is an AudioReadError with a specific message, never a traceback."""

import os
import struct

import numpy as np
import pytest
import soundfile as sf

from qa.loading import AudioReadError, iter_audio_paths, load_audio


def _wav(path, seconds=0.5, sr=8000, channels=1, subtype="PCM_16"):
    x = 0.3 * np.sin(2 * np.pi * 440 * np.arange(int(sr * seconds)) / sr)
    sf.write(path, np.tile(x, (channels, 1)).T, sr, subtype=subtype)
    return path


def _err(path) -> AudioReadError:
    with pytest.raises(AudioReadError) as e:
        load_audio(path)
    return e.value


def test_good_wav_loads_channels_first_with_provenance(tmp_path):
    a = load_audio(_wav(tmp_path / "a.wav", channels=2))
    assert (a.channels, a.frames, a.sample_rate) == (2, 4000, 8000)
    assert a.provenance.subtype == "PCM_16" and a.provenance.format == "WAV"
    assert a.provenance.original_dtype == "int16"


def test_float64_wav_keeps_float64(tmp_path):
    a = load_audio(_wav(tmp_path / "d.wav", subtype="DOUBLE"))
    assert a.samples.dtype == np.float64


def test_missing(tmp_path):
    e = _err(tmp_path / "nope.wav")
    assert (e.kind, e.detail) == ("missing", "no such file")
    assert str(e) == f"{tmp_path / 'nope.wav'}: no such file"


def test_directory(tmp_path):
    assert _err(tmp_path).detail == "is a directory, not an audio file"


def test_zero_bytes(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    e = _err(p)
    assert (e.kind, e.detail) == ("empty", "is empty (0 bytes)")


def test_fifo_is_refused_without_blocking(tmp_path):
    p = tmp_path / "pipe.wav"
    os.mkfifo(p)
    assert _err(p).kind == "not_regular"


def test_not_audio(tmp_path):
    p = tmp_path / "notes.wav"
    p.write_text("these are my lyrics, not audio\n" * 20)
    e = _err(p)
    assert e.kind == "not_audio"
    assert e.detail.startswith("not a readable audio file (")


def test_truncated_wav(tmp_path):
    p = _wav(tmp_path / "cut.wav")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    e = _err(p)
    assert e.kind == "truncated"
    assert "the header declares 8000 bytes of audio data but only 3978 are present" in e.detail


@pytest.mark.parametrize("placeholder", [0, 0xFFFFFFFF])
def test_unfinalized_header(tmp_path, placeholder):
    p = _wav(tmp_path / "stream.wav")
    b = bytearray(p.read_bytes())
    i = b.index(b"data")
    b[i + 4 : i + 8] = struct.pack("<I", placeholder)
    b[4:8] = struct.pack("<I", placeholder)
    p.write_bytes(bytes(b))
    e = _err(p)
    assert e.kind == "unfinalized_header"
    assert f"the data chunk size in the header is {placeholder:#x}, a placeholder, but 8000 bytes" in e.detail


def test_riff_size_short_of_data_is_unfinalized(tmp_path):
    p = _wav(tmp_path / "riff.wav")
    b = bytearray(p.read_bytes())
    b[4:8] = struct.pack("<I", 36)  # header-only RIFF size: never updated after writing
    p.write_bytes(bytes(b))
    e = _err(p)
    assert e.kind == "unfinalized_header"
    assert "the RIFF size (44 bytes) ends before the data chunk does (8044 bytes)" in e.detail


def test_zero_frames(tmp_path):
    p = tmp_path / "zero.wav"
    sf.write(p, np.zeros((0, 2)), 8000)
    assert _err(p).detail == "contains 0 frames of audio"


def test_unsupported_format(tmp_path):
    p = tmp_path / "song.m4a"
    p.write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 200)
    assert _err(p).kind == "not_audio"


def test_truncated_flac(tmp_path):
    p = tmp_path / "cut.flac"
    rng = np.random.default_rng(0)
    sf.write(p, 0.3 * rng.standard_normal((48000, 2)), 48000, subtype="PCM_16")
    data = p.read_bytes()
    p.write_bytes(data[: int(len(data) * 0.6)])
    e = _err(p)
    assert e.kind in ("truncated", "corrupt")
    assert "48000 frames" in e.detail


def test_absurd_sample_rate(tmp_path):
    p = _wav(tmp_path / "rate.wav")
    b = bytearray(p.read_bytes())
    b[24:28] = struct.pack("<I", 7)  # fmt chunk's sample rate field
    p.write_bytes(bytes(b))
    e = _err(p)
    assert e.kind in ("bad_header", "not_audio")


def test_directory_walk_picks_audio_sorted(tmp_path):
    (tmp_path / "sub").mkdir()
    _wav(tmp_path / "sub" / "b.wav")
    _wav(tmp_path / "a.flac")
    (tmp_path / "readme.txt").write_text("x")
    got = iter_audio_paths([str(tmp_path), "missing.wav"])
    assert got == [str(tmp_path / "a.flac"), str(tmp_path / "sub" / "b.wav"), "missing.wav"]
