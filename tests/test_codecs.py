"""Codecs: real encoders through libsndfile / ffmpeg, bitrates, lossless identity, spec errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from qa.audio import Audio
from qa.loading import load_audio
from qa.codecs import (CodecSpecError, CodecUnavailable, FunctionCodec, expand_sweep,
                       nominal_kbps, parse_codec)
from qa.metrics.intrusive import compare
from qa.roundtrip import roundtrip_audio
from tests.conftest import needs

SONG = Path(__file__).resolve().parent.parent / "fixtures" / "audio" / "song_pop_10s.flac"
NO_VISQOL = ("visqol_moslqo",)


@pytest.fixture(scope="module")
def song() -> Audio:
    return load_audio(SONG)


@pytest.mark.parametrize("spec", ["pcm16", "pcm24", "flac"])
def test_lossless_codecs_return_the_same_samples(song, spec):
    c = parse_codec(spec)
    out = c.decode(c.encode(song))
    assert np.array_equal(out.samples, song.samples)
    item = roundtrip_audio(song, c, path=str(SONG), options=_opts())
    assert item.metrics["snr_db"] is None and "identical: lossless" in item.notes
    assert item.extra["codec"] == spec


@pytest.mark.parametrize("spec,lo,hi", [("mp3:128", 126, 132), ("opus:64", 60, 70),
                                        ("mp3:64", 63, 67)])
def test_lossy_codecs_hit_their_bitrate(song, spec, lo, hi):
    c = parse_codec(spec)
    enc = c.encode(song)
    assert lo <= enc.kbps <= hi
    out = c.decode(enc)
    assert out.sample_rate == song.sample_rate and out.channels == 2
    assert out.frames == song.frames


def test_vorbis_quality_changes_the_bitrate(song):
    low, high = (parse_codec(s).encode(song).kbps for s in ("vorbis:0", "vorbis:8"))
    assert low < 80 < high


def test_opus_at_44100_goes_through_48k_and_says_so(song):
    enc = parse_codec("opus:64").encode(song)
    assert enc.coded_rate == 48000
    assert enc.notes == ("opus:64: 44100 Hz is not a OGG/OPUS rate; encoded at 48000 Hz and "
                         "resampled back",)


def test_mulaw_snr_is_that_of_g711(song):
    """8-bit mu-law: about 38 dB SNR on loud music (G.711's companding curve)."""
    c = parse_codec("mulaw")
    m = compare(song, c.decode(c.encode(song)), skip=NO_VISQOL).metrics
    assert 33 < m["snr_db"] < 40
    assert m["delay_samples"] == 0


def test_resample_codec_removes_the_top_band(song):
    c = parse_codec("resample:16000")
    out = c.decode(c.encode(song))
    spec = np.abs(np.fft.rfft(out.samples[0].astype(np.float64)))
    f = np.fft.rfftfreq(out.frames, 1 / out.sample_rate)
    assert spec[f > 9000].max() < 1e-3 * spec.max()  # -60 dB past the transition band
    assert out.frames == song.frames


@needs("ffmpeg")
def test_ffmpeg_aac_round_trip(song):
    c = parse_codec("ffmpeg:aac:128")
    enc = c.encode(song)
    assert 120 < enc.kbps < 160
    m = compare(song, c.decode(enc), skip=NO_VISQOL).metrics
    assert m["snr_db"] > 10


def test_a_pipeline_codec_plugs_in_as_functions():
    """An 8-bit quantizer as a custom codec: SNR of a near-full-scale sine is the textbook
    10*log10((A^2/2) / (q^2/12))."""
    sr, amp = 48000, 127 / 128
    x = amp * np.sin(2 * np.pi * 997 * np.arange(sr) / sr)
    codec = FunctionCodec("int8", lambda a: np.round(a.samples * 128).astype(np.int8),
                          lambda p, e: Audio.from_array(p, e.sample_rate))
    out = codec.decode(codec.encode(Audio.from_array(x, sr)))
    m = compare(Audio.from_array(x, sr), out, skip=NO_VISQOL).metrics
    expected = 10 * math.log10((amp**2 / 2) / ((1 / 128) ** 2 / 12))
    assert m["snr_db"] == pytest.approx(expected, abs=0.1)


@pytest.mark.parametrize("spec,msg", [
    ("mp3", "unknown codec spec 'mp3'; expected one of: pcm16"),
    ("mp3:100", "codec 'mp3:100': MP3 bitrates are (8, 16"),
    ("opus:fast", "codec 'opus:fast': the Opus bitrate (kbit/s) must be a number, got 'fast'"),
    ("vorbis:11", "codec 'vorbis:11': the Vorbis quality (0-10) must be in [0, 10], got 11"),
    ("ffmpeg:aac", "codec 'ffmpeg:aac': expected ffmpeg:<encoder>:<kbps>"),
    ("encodec:5", "codec 'encodec:5': EnCodec 24 kHz bandwidths are (1.5, 3.0, 6.0, 12.0, 24.0)"),
])
def test_bad_specs_say_what_is_wrong(spec, msg):
    with pytest.raises(CodecSpecError) as e:
        parse_codec(spec)
    assert str(e.value).startswith(msg)


def test_encodec_without_transformers_or_weights_is_unavailable_with_the_reason(song):
    c = parse_codec("encodec:6")
    with pytest.raises(CodecUnavailable) as e:
        c.encode(song)
    try:
        import transformers  # noqa: F401
    except ImportError:
        assert str(e.value) == ("encodec:6: unavailable: transformers is not installed "
                                "(pip install transformers torch)")
    else:
        assert "weights are not in the local Hugging Face cache" in str(e.value)
    item = roundtrip_audio(song, c, path="x.flac", options=_opts())
    assert item.status == "error" and item.checks[0].id == "backend_available"


def test_sweep_expands_families_and_keeps_lossless_specs():
    assert expand_sweep(["pcm16", "mp3:128", "ffmpeg:aac:96"]) == [
        "pcm16", "mp3:32", "mp3:64", "mp3:96", "mp3:128", "mp3:192", "mp3:256", "mp3:320",
        "ffmpeg:aac:32", "ffmpeg:aac:64", "ffmpeg:aac:96", "ffmpeg:aac:128", "ffmpeg:aac:192",
        "ffmpeg:aac:256"]
    assert nominal_kbps("opus:64") == 64.0 and nominal_kbps("flac") is None


def _opts():
    from qa.roundtrip import CompareOptions

    return CompareOptions(skip=NO_VISQOL)


@pytest.fixture(scope="module")
def encodec_dir(tmp_path_factory):
    """An EnCodec 24 kHz built from its configuration with random weights (no download), saved
    the way a user's local copy of the weights is: the real load, encode and decode path."""
    pytest.importorskip("transformers")
    import torch
    from transformers import EncodecConfig, EncodecModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("encodec")
    EncodecModel(EncodecConfig()).save_pretrained(folder)  # the defaults are encodec_24khz's
    return str(folder)


@pytest.mark.parametrize("kbps,n_q", [(1.5, 2), (6.0, 8), (24.0, 32)])
def test_encodec_round_trip_shapes_codes_and_bandwidths(encodec_dir, song, monkeypatch, kbps, n_q):
    from qa.codecs import ENCODEC_DIR_ENV

    monkeypatch.setenv(ENCODEC_DIR_ENV, encodec_dir)
    short = Audio.from_array(song.samples[:, : song.sample_rate], song.sample_rate)  # 1.000 s stereo
    c = parse_codec(f"encodec:{kbps:g}")
    enc = c.encode(short)
    codes, scales = enc.payload
    # 75 frames per second at 24 kHz (hop 320); n_q = kbps / (75 Hz x 10 bits) codebooks of 1024
    assert tuple(codes.shape) == (1, 2, n_q, 75)
    assert int(codes.min()) >= 0 and int(codes.max()) < 1024
    out = c.decode(enc)
    assert out.samples.shape == short.samples.shape and out.sample_rate == short.sample_rate
    assert np.isfinite(out.samples).all()


def test_encodec_from_a_folder_without_weights_names_the_folder(tmp_path, song):
    pytest.importorskip("transformers")
    from qa.codecs import EncodecCodec

    c = EncodecCodec("encodec:6", 6.0, model_dir=str(tmp_path))
    with pytest.raises(CodecUnavailable, match=f"the folder {tmp_path} .AUDIO_QA_ENCODEC_DIR. holds no "
                                               "EnCodec weights and audio-qa never downloads"):
        c.encode(song)
