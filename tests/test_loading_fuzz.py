"""Property tests: thousands of random and mutated files through the loader and the checks.

Every input must come out as either valid audio or an AudioReadError; no other exception, no
check that errors, and no hang (hypothesis' deadline bounds each example).
"""

import io
import struct

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.analyze import check_path
from qa.audio import Audio
from qa.checks import CheckContext
from qa.cli import main as cli_main
from qa.loading import AudioReadError, load_audio

CTX = CheckContext()


def _encode(fmt: str, subtype: str, frames: int, channels: int, sr: int) -> bytes:
    rng = np.random.default_rng(frames + channels)
    x = 0.3 * rng.standard_normal((frames, channels))
    buf = io.BytesIO()
    sf.write(buf, x, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


SEEDS = {
    "wav16": _encode("WAV", "PCM_16", 2000, 2, 8000),
    "wav24": _encode("WAV", "PCM_24", 1500, 1, 44100),
    "wavf": _encode("WAV", "FLOAT", 1000, 2, 48000),
    "flac": _encode("FLAC", "PCM_16", 4000, 2, 16000),
    "ogg": _encode("OGG", "VORBIS", 8000, 1, 16000),
    "mp3": _encode("MP3", "MPEG_LAYER_III", 8000, 1, 16000),
}
# Byte offsets of the canonical 44-byte WAV header fields.
WAV_FIELDS = {4: "<I", 20: "<H", 22: "<H", 24: "<I", 28: "<I", 32: "<H", 34: "<H", 40: "<I"}
ABSURD = st.sampled_from([0, 1, 7, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 44100, 2**31 + 5])


def _outcome(path) -> str:
    try:
        a = load_audio(path)
    except AudioReadError as e:
        assert e.detail and e.kind and str(path) in str(e)
        return "error"
    assert isinstance(a, Audio) and a.frames > 0 and a.channels > 0
    return "audio"


def _check(path) -> None:
    item = check_path(str(path), CTX)
    assert not [c for c in item.checks if c.status == "error"], item.checks
    if item.check("readable").status == "fail":
        assert len(item.checks) == 1


FUZZ = settings(max_examples=600, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(seed=st.sampled_from(sorted(SEEDS)), flips=st.lists(st.tuples(st.integers(0, 200), st.integers(1, 255)), max_size=6))
def test_flipped_header_bytes(tmp_path_factory, seed, flips):
    b = bytearray(SEEDS[seed])
    for pos, xor in flips:
        if pos < len(b):
            b[pos] ^= xor
    p = tmp_path_factory.mktemp("f") / f"x.{seed[:3]}"
    p.write_bytes(bytes(b))
    _outcome(p)
    _check(p)


@FUZZ
@given(seed=st.sampled_from(sorted(SEEDS)), cut=st.one_of(st.sampled_from([1, 4, 8, 11, 12, 16, 20, 36, 40, 43, 44, 45, 46]), st.floats(0.0, 1.0)))
def test_cut_at_every_kind_of_boundary(tmp_path_factory, seed, cut):
    data = SEEDS[seed]
    n = cut if isinstance(cut, int) else int(len(data) * cut)
    p = tmp_path_factory.mktemp("c") / f"x.{seed[:3]}"
    p.write_bytes(data[:n])
    outcome = _outcome(p)
    if seed.startswith("wav") and n < len(data):
        assert outcome == "error"  # a cut WAV is never passed off as audio
    _check(p)


@FUZZ
@given(seed=st.sampled_from(["wav16", "wav24", "wavf"]), fields=st.dictionaries(st.sampled_from(sorted(WAV_FIELDS)), ABSURD, min_size=1, max_size=3))
def test_absurd_sizes_and_rates(tmp_path_factory, seed, fields):
    b = bytearray(SEEDS[seed])
    for off, val in fields.items():
        fmt = WAV_FIELDS[off]
        b[off : off + struct.calcsize(fmt)] = struct.pack(fmt, val & (0xFFFF if fmt == "<H" else 0xFFFFFFFF))
    p = tmp_path_factory.mktemp("a") / "x.wav"
    p.write_bytes(bytes(b))
    _outcome(p)
    _check(p)


@FUZZ
@given(data=st.binary(min_size=0, max_size=600), prefix=st.sampled_from([b"", b"RIFF", b"fLaC", b"OggS", b"ID3", b"FORM"]))
def test_random_bytes(tmp_path_factory, data, prefix):
    p = tmp_path_factory.mktemp("r") / "x.wav"
    p.write_bytes(prefix + data)
    assert _outcome(p) == "error" or len(data) > 40
    _check(p)


@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(sorted(SEEDS)), cut=st.floats(0.05, 1.0), flip=st.integers(0, 100))
def test_check_command_in_process(tmp_path_factory, capsys, seed, cut, flip):
    b = bytearray(SEEDS[seed][: max(1, int(len(SEEDS[seed]) * cut))])
    b[min(flip, len(b) - 1)] ^= 0x5A
    d = tmp_path_factory.mktemp("cli")
    (d / "x.wav").write_bytes(bytes(b))
    (d / "good.wav").write_bytes(SEEDS["wav16"])
    code = cli_main(["check", str(d), "--json", "-"])
    out = capsys.readouterr().out
    assert code in (0, 1)
    import json

    doc = json.loads(out)
    assert len(doc["items"]) == 2
    good = [i for i in doc["items"] if i["path"].endswith("good.wav")][0]
    assert good["checks"][0]["status"] == "pass"
