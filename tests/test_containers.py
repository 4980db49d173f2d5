"""Corrupt containers are refused with the reason (issue 15): AIFF/AIFC, AU, W64, CAF headers
against the file size, FLAC frame continuity and STREAMINFO, Ogg pages, RF64 without ds64,
headerless .au; and decompression bombs refused by the decode budget in bounded memory."""

import io
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from qa.loading import DECODE_BUDGET_MB, AudioReadError, ReadOptions, load_audio
from tests.conftest import ROOT, run_cli

X = 0.3 * np.random.default_rng(7).standard_normal((16000 * 3, 2))


def _encode(fmt: str, subtype: str = "PCM_16", x=X, sr: int = 16000) -> bytes:
    b = io.BytesIO()
    sf.write(b, x, sr, format=fmt, subtype=subtype)
    return b.getvalue()


def _refused(tmp_path, name: str, data: bytes) -> AudioReadError:
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(AudioReadError) as e:
        load_audio(p)
    return e.value


@pytest.mark.parametrize("fmt,ext,subtype", [
    ("AIFF", "aiff", "PCM_16"), ("AIFF", "aifc", "ULAW"), ("AU", "au", "PCM_16"),
    ("W64", "w64", "PCM_24"), ("CAF", "caf", "PCM_16"), ("FLAC", "flac", "PCM_16"),
    ("OGG", "ogg", "VORBIS"), ("RF64", "rf64", "PCM_16")])
def test_a_file_cut_short_is_truncated_and_the_whole_file_passes(tmp_path, fmt, ext, subtype):
    raw = _encode(fmt, subtype)
    (tmp_path / f"whole.{ext}").write_bytes(raw)
    assert load_audio(tmp_path / f"whole.{ext}").frames == X.shape[0]
    e = _refused(tmp_path, f"cut.{ext}", raw[: len(raw) * 2 // 3])
    assert e.kind == "truncated" and "cut short" in e.detail, e.detail


def test_aiff_frame_count_that_lies(tmp_path):
    raw = bytearray(_encode("AIFF"))
    comm = raw.index(b"COMM")
    frames = struct.unpack(">I", raw[comm + 10 : comm + 14])[0]
    raw[comm + 10 : comm + 14] = struct.pack(">I", frames * 2)
    e = _refused(tmp_path, "lies.aiff", bytes(raw))
    assert f"COMM declares {frames * 2} frames" in e.detail


def test_au_data_size_that_lies(tmp_path):
    raw = bytearray(_encode("AU"))
    raw[8:12] = struct.pack(">I", len(raw) * 3)
    e = _refused(tmp_path, "lies.au", bytes(raw))
    assert e.kind == "truncated" and f"declares {len(raw) * 3} bytes of audio data" in e.detail


def test_w64_and_caf_data_sizes_that_lie(tmp_path):
    raw = bytearray(_encode("W64"))
    data = raw.index(b"data\xf3\xac\xd3\x11")
    n = struct.unpack("<Q", raw[data + 16 : data + 24])[0]
    raw[data + 16 : data + 24] = struct.pack("<Q", n + 10_000)
    assert "cut short" in _refused(tmp_path, "lies.w64", bytes(raw)).detail
    raw = bytearray(_encode("CAF"))
    data = raw.index(b"data")
    n = struct.unpack(">q", raw[data + 4 : data + 12])[0]
    raw[data + 4 : data + 12] = struct.pack(">q", n + 10_000)
    assert "cut short" in _refused(tmp_path, "lies.caf", bytes(raw)).detail


def _flac_frame_offsets(raw: bytes) -> list[int]:
    """Byte offsets of frames 0, 1, 2, ...: FF F8, then the two header bytes of frame 0, then the
    frame number (one byte below 128)."""
    first = raw.index(b"\xff\xf8", raw.index(b"fLaC") + 42)
    head = raw[first : first + 4]
    return [raw.index(head + bytes([k]), first) for k in range(5)]


def test_flac_with_a_frame_deleted_is_refused(tmp_path):
    raw = _encode("FLAC", x=X[:, :1] * 0.1)
    at = _flac_frame_offsets(raw)
    e = _refused(tmp_path, "gap.flac", raw[: at[2]] + raw[at[3] :])
    assert e.kind == "corrupt" and "frames are missing" in e.detail
    assert "jumps from sample 8192 to sample 12288" in e.detail


def test_flac_streaminfo_total_that_lies_and_bad_block_type(tmp_path):
    raw = bytearray(_encode("FLAC"))
    si = raw.index(b"fLaC") + 8  # the STREAMINFO body
    word = int.from_bytes(raw[si + 10 : si + 18], "big")
    raw[si + 10 : si + 18] = ((word & ~((1 << 36) - 1)) | (2**30)).to_bytes(8, "big")
    e = _refused(tmp_path, "total.flac", bytes(raw))
    assert f"STREAMINFO declares {2**30} frames" in e.detail
    raw = bytearray(_encode("FLAC"))
    raw[4] = (raw[4] & 0x80) | 0x7F  # STREAMINFO's header now names type 127 (invalid)
    e = _refused(tmp_path, "type.flac", bytes(raw))
    assert "has type 127, which is reserved or invalid" in e.detail


def test_ogg_with_a_page_deleted_is_refused(tmp_path):
    raw = _encode("OGG", "VORBIS", x=np.tile(X, (4, 1)))
    pages = [i for i in range(len(raw)) if raw.startswith(b"OggS", i)]
    assert len(pages) > 5
    e = _refused(tmp_path, "gap.ogg", raw[: pages[3]] + raw[pages[4] :])
    assert e.kind == "corrupt" and "1 page(s) missing" in e.detail


def test_rf64_without_ds64_is_refused(tmp_path):
    raw = bytearray(_encode("WAV"))
    raw[0:4] = b"RF64"
    e = _refused(tmp_path, "nods64.rf64", bytes(raw))
    assert "without a ds64 chunk" in e.detail


def test_headerless_au_is_not_read_as_raw_ulaw(tmp_path):
    noise = np.random.default_rng(1).integers(0, 256, 8000, dtype=np.uint8).tobytes()
    e = _refused(tmp_path, "raw.au", b"\x00\x01" + noise)
    assert e.kind == "not_audio"


def _peak_rss_mb(*args: str, env: dict | None = None) -> tuple[dict, float]:
    """Run ``audio-qa ARGS --json -`` in a child of a fresh interpreter; its JSON and the peak
    resident memory (MiB) of that child alone."""
    code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True,"
            " text=True); sys.stdout.write(r.stdout); "
            "sys.stderr.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))")
    r = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "qa", *args, "--json", "-"],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    return json.loads(r.stdout), int(r.stderr.strip().splitlines()[-1]) / 1024


def _constant_flac(path, seconds: int) -> None:
    """A FLAC of ``seconds`` of one constant stereo sample (1000/32768): a few kB per hour."""
    block = np.full((1 << 20, 2), 1000, dtype=np.int16)
    with sf.SoundFile(path, "w", 48000, 2, "PCM_16", format="FLAC") as f:
        for start in range(0, 48000 * seconds, block.shape[0]):
            f.write(block[: min(block.shape[0], 48000 * seconds - start)])


def test_one_hour_flac_of_constant_samples_is_refused_by_measure_and_checked_in_segments(tmp_path):
    # 45 kB declaring 1.3 GiB of samples, all honest: `measure` refuses it by the decode budget
    bomb = tmp_path / "hour.flac"
    _constant_flac(bomb, 3600)
    assert bomb.stat().st_size < 1_000_000  # under 1 MB for 1.3 GiB of samples
    doc, rss = _peak_rss_mb("measure", str(bomb))
    c = doc["items"][0]["checks"][0]
    assert c["id"] == "readable" and c["status"] == "fail"
    assert f"more than the decode budget of {DECODE_BUDGET_MB} MiB" in c["message"]
    assert "1318 MiB" in c["message"] and "3600 s" in c["message"]
    assert rss < 400, rss
    # `check` reads such a file in segments, in bounded memory, and finds what it is (a DC
    # level). Ten minutes of it (220 MiB of samples) over a 32 MiB budget: the same path as
    # the hour (tests/test_longform.py checks a real hour in under 500 MB) at a sixth of its cost
    ten = tmp_path / "ten.flac"
    _constant_flac(ten, 600)
    doc, rss = _peak_rss_mb("check", str(ten), env={"AUDIO_QA_DECODE_BUDGET_MB": "32"})
    (item,) = doc["items"]
    assert any(n.startswith("checked in ") and " segments " in n for n in item["notes"]), item["notes"]
    assert rss < 300, rss
    dc = {c["id"]: c for c in item["checks"]}["dc_offset"]
    assert dc["status"] == "fail" and dc["value"] >= dc["threshold"], dc
    assert item["metrics"]["dc_offset"] == pytest.approx(1000 / 32768, abs=1e-9)


def test_a_declared_length_in_the_budget_but_not_in_the_file_allocates_nothing(tmp_path):
    raw = bytearray(_encode("FLAC"))
    si = raw.index(b"fLaC") + 8
    word = int.from_bytes(raw[si + 10 : si + 18], "big")
    raw[si + 10 : si + 18] = ((word & ~((1 << 36) - 1)) | (2**30)).to_bytes(8, "big")
    p = tmp_path / "claims.flac"
    p.write_bytes(bytes(raw))
    doc, rss = _peak_rss_mb("check", str(p), env={"AUDIO_QA_DECODE_BUDGET_MB": "16384"})
    assert doc["items"][0]["status"] == "fail" and rss < 400, rss


def test_a_file_longer_than_max_duration_is_refused_unread(tmp_path):
    p = tmp_path / "three.flac"
    p.write_bytes(_encode("FLAC"))
    cfg = tmp_path / "qa.toml"
    cfg.write_text("max_duration_s = 2.5\n")
    r = run_cli("check", str(p), "--config", str(cfg), "--json", "-")
    c = json.loads(r.stdout)["items"][0]["checks"][0]
    assert r.returncode == 1 and c["id"] == "readable" and c["status"] == "fail"
    assert c["message"].endswith("declares 48000 frames at 16000 Hz (3 s from "
                                 f"{p.stat().st_size} bytes), longer than the 2 s this tool checks "
                                 "(max_duration_s in the config raises it)")


def test_decode_budget_from_the_config_and_the_environment_over_it(tmp_path):
    # 3 s of 16 kHz stereo float32 = 0.37 MiB: over a budget of 0.25 MiB, `measure` refuses it
    p = tmp_path / "a.flac"
    p.write_bytes(_encode("FLAC"))
    cfg = tmp_path / "qa.toml"
    cfg.write_text("decode_budget_mb = 0.25\n")
    with pytest.raises(AudioReadError, match="needs 0.3662 MiB, more than the decode budget of 0.25 MiB"):
        load_audio(p, ReadOptions(decode_budget_mb=0.25))
    r = run_cli("check", str(p), "--config", str(cfg), "--json", "-")
    item = json.loads(r.stdout)["items"][0]
    assert any(n.startswith("checked in 1 segment of up to 3 s") for n in item["notes"]), item["notes"]
    r = run_cli("check", str(p), "--config", str(cfg), "--json", "-",
                env={"AUDIO_QA_DECODE_BUDGET_MB": "64"})
    assert not any(n.startswith("checked in") for n in json.loads(r.stdout)["items"][0]["notes"])


@pytest.mark.parametrize("size", [16, 23, 39])
def test_a_wave64_header_cut_inside_its_first_40_bytes_is_truncated(tmp_path, size):
    # found by tests/test_loading_fuzz.py: the riff GUID alone made the walker unpack 8 bytes
    # from an empty read (struct.error) instead of naming the problem
    p = tmp_path / "cut.w64"
    p.write_bytes((b"riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00" + bytes(64))[:size])
    with pytest.raises(AudioReadError) as e:
        load_audio(p)
    assert e.value.kind == "truncated" and f"only {size} bytes, shorter than a Wave64 header (40)" in str(e.value)


def test_an_ogg_page_with_a_negative_granule_is_corrupt(tmp_path):
    # found by a seeded mutation of Ogg headers: a granule of -5 made the walker look up the
    # stream's previous granule that was never recorded (KeyError)
    page = b"OggS\x00\x02" + struct.pack("<qII", -5, 7, 0) + bytes(4) + b"\x01" + b"\x04" + b"abcd"
    p = tmp_path / "bad.ogg"
    p.write_bytes(page)
    with pytest.raises(AudioReadError) as e:
        load_audio(p)
    assert e.value.kind == "corrupt" and "has granule position -5: the page header is damaged" in str(e.value)


@pytest.mark.parametrize("value", ["512MB", "0", "-1", "nan"])
def test_a_malformed_decode_budget_is_a_usage_error_not_the_default(tmp_path, value):
    p = tmp_path / "a.wav"
    sf.write(p, X, 16000, subtype="PCM_16")
    r = run_cli("check", str(p), env={"AUDIO_QA_DECODE_BUDGET_MB": value})
    assert r.returncode == 2 and r.stdout == ""
    assert f"AUDIO_QA_DECODE_BUDGET_MB={value!r}: expected a positive number of MiB" in r.stderr


@pytest.mark.parametrize("tool", ["ffmpeg", "sox"])
def test_files_written_by_other_tools_are_not_refused(tmp_path, tool):
    """No false alarm: the structure walkers accept what real encoders write."""
    import shutil

    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed (apt install {tool})")
    src = tmp_path / "src.wav"
    sf.write(src, X, 16000, subtype="PCM_16")
    for ext in ("flac", "aiff", "au", "w64", "caf", "ogg"):
        out = tmp_path / f"out.{ext}"
        cmd = ([tool, "-loglevel", "error", "-y", "-i", str(src), str(out)] if tool == "ffmpeg"
               else [tool, str(src), str(out)])
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        assert load_audio(out).frames == X.shape[0], ext


def test_headerless_raw_is_refused_until_its_format_is_named(tmp_path):
    sine = (0.5 * np.sin(2 * np.pi * 440 * np.arange(32000) / 16000) * 32767).astype("<i2")
    (tmp_path / "take.raw").write_bytes(sine.tobytes())
    r = run_cli("check", str(tmp_path), "--json", "-")
    assert r.returncode == 2 and "no audio files found" in r.stderr  # .raw is not walked unasked
    r = run_cli("check", str(tmp_path / "take.raw"), "--json", "-")
    c = json.loads(r.stdout)["items"][0]["checks"][0]
    assert r.returncode == 1 and c["id"] == "readable" and c["status"] == "fail"
    assert c["message"].endswith("take.raw: headerless raw samples: the file does not say their "
                                 "format, rate or channels")
    assert c["hint"].startswith("name the format: --raw-format SUBTYPE:RATE:CHANNELS")
    r = run_cli("check", str(tmp_path), "--raw-format", "PCM_16:16000:1", "--json", "-")
    (item,) = json.loads(r.stdout)["items"]
    assert item["sample_rate"] == 16000 and item["channels"] == 1 and item["frames"] == 32000
    assert item["metrics"]["sample_peak_dbfs"] == pytest.approx(20 * np.log10(16383 / 32768), abs=1e-3)


@pytest.mark.parametrize("spec, why", [
    ("PCM_16:16000", "expected SUBTYPE:RATE:CHANNELS[:ENDIAN]"),
    ("MP3:16000:1", "libsndfile has no raw subtype 'MP3'"),
    ("PCM_16:16k:1", "rate and channels must be integers"),
    ("PCM_16:16000:0", "rate 1000-1536000 Hz and 1-1024 channels"),
])
def test_a_malformed_raw_format_is_a_usage_error(tmp_path, spec, why):
    p = tmp_path / "a.raw"
    p.write_bytes(bytes(64))
    r = run_cli("check", str(p), "--raw-format", spec)
    assert r.returncode == 2 and f"raw format {spec!r}: {why}" in r.stderr, r.stderr
