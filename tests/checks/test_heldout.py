"""Thresholds validated on audio they were not fitted on.

The thresholds in qa/profiles.toml were fitted on the 43 reference music and speech files.
This held-out set is legitimately processed versions of that audio, generated here into a
temporary folder (peak normalization, MP3 / AAC 128k, Opus 96k and Vorbis q4 round trips
through ffmpeg, a -23 LUFS broadcast master from ffmpeg's loudnorm, a loud master (gain to
-8 LUFS into ffmpeg's limiter at -1 dBFS: -8.7 LUFS measured), resampling, dither to 16 bit, a fade into
trailing silence, dual-mono speech, 24-bit FLAC, float WAV), plus synthetic faults placed just
past each threshold. Under the default profile no clean file fails (warnings allowed) and each
fault fails with its own check id. ``python -m tests.checks.test_heldout`` prints the margins
of the README's threshold table.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from qa.analyze import check_path
from qa.checks import CheckContext
from qa.metrics.loudness import measure_loudness
from tests.conftest import REFERENCE

MUSIC = "google-visqol/conformance_testdata_subset/"
SOURCES = {"guitar": MUSIC + "guitar48_stereo.wav", "strauss": MUSIC + "strauss48_stereo.flac",
           "castanets": MUSIC + "castanets48_stereo.wav", "contrabassoon": MUSIC + "contrabassoon48_stereo.flac"}
SPEECH = "espeak-ng/harvard_en-us_m.wav"
FFMPEG = shutil.which("ffmpeg")


def _ffmpeg(src: Path, dst: Path, *args: str) -> None:
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", "-i", str(src), *args, str(dst)], check=True,
                   timeout=120, capture_output=True)


def _gain_to(x: np.ndarray, sr: int, lufs: float) -> np.ndarray:
    return x * 10 ** ((lufs - measure_loudness(x.T, sr).integrated_lufs) / 20)


def clean_set(out: Path) -> list[Path]:
    """The legitimately processed versions, written under ``out``."""
    files: list[Path] = []

    def write(name: str, x: np.ndarray, sr: int, subtype: str = "PCM_16") -> Path:
        p = out / name
        sf.write(p, x, sr, subtype=subtype)
        files.append(p)
        return p

    for key, rel in SOURCES.items():
        x, sr = sf.read(REFERENCE / rel, always_2d=True)
        write(f"{key}_peak-1dBFS.wav", x * (10 ** (-1 / 20) / np.abs(x).max()), sr)
        src = write(f"{key}_src.wav", x, sr)
        broadcast = out / f"{key}_-23LUFS.wav"  # ffmpeg's EBU R128 normalizer, -1 dBTP ceiling
        _ffmpeg(src, broadcast, "-af", "loudnorm=I=-23:TP=-1:LRA=20", "-ar", str(sr), "-c:a", "pcm_s24le")
        files.append(broadcast)
        for codec, ext in (("libmp3lame -b:a 128k", "mp3"), ("aac -b:a 128k", "m4a"),
                           ("libopus -b:a 96k", "opus"), ("libvorbis -q:a 4", "ogg")):
            enc = out / f"{key}_{codec.split()[0]}.{ext}"
            _ffmpeg(src, enc, "-c:a", *codec.split())
            dec = out / f"{key}_{codec.split()[0]}.wav"
            _ffmpeg(enc, dec)
            files.append(dec)
        loud = out / f"{key}_loud_limited.wav"  # gain to -8 LUFS into ffmpeg's limiter at -1 dBFS
        gain = -10.0 - measure_loudness(x.T, sr).integrated_lufs + 2.0
        _ffmpeg(src, loud, "-af", f"volume={gain:.2f}dB,alimiter=limit=0.891:level=false", "-c:a", "pcm_s16le")
        files.append(loud)
        write(f"{key}_44k1.wav", resample_poly(x, 147, 160, axis=0), 44100)
        rng = np.random.default_rng(0)
        tpdf = (rng.random(x.shape) - rng.random(x.shape)) / 32768.0
        write(f"{key}_dither16.wav", np.round((x * 0.5 + tpdf) * 32768) / 32768, sr)
        fade = np.r_[np.ones(len(x) - 2 * sr), np.linspace(1.0, 0.0, 2 * sr) ** 2][:, None]
        write(f"{key}_fade_tail.wav", np.concatenate([x * fade, np.zeros((3 * sr, x.shape[1]))]), sr)
        write(f"{key}_24bit.flac", x, sr, "PCM_24")
        write(f"{key}_float.wav", x.astype(np.float32), sr, "FLOAT")
        src.unlink()
        files.remove(src)
    sp, ssr = sf.read(REFERENCE / SPEECH, always_2d=True)
    write("speech_dual_mono.wav", np.repeat(sp, 2, axis=1), ssr)
    write("speech_peak-1dBFS.wav", sp * (10 ** (-1 / 20) / np.abs(sp).max()), ssr)
    return files


def fault_set(out: Path) -> dict[Path, str]:
    """Synthetic faults just past a threshold -> the check id that must fail."""
    x, sr = sf.read(REFERENCE / SOURCES["guitar"], always_2d=True)
    n = len(x)
    faults: dict[Path, str] = {}

    def write(name: str, y: np.ndarray, check_id: str, subtype: str = "FLOAT") -> None:
        p = out / name
        sf.write(p, y, sr, subtype=subtype)
        faults[p] = check_id

    y = x * (0.5 / np.abs(x).max())
    k = int(0.0015 * y.size) // 2  # 0.15 % of samples in flat runs at a -6 dBFS rail
    idx = np.random.default_rng(2).choice(n // 4, size=k, replace=False) * 4
    for i in (idx, idx + 1):
        y[i] = np.sign(y[i] + 1e-9) * 0.5
    write("clip_0.15pct.wav", y, "clipping")
    write("dc_0.035.wav", x + 0.035, "dc_offset")
    write("lost_gain_-46LUFS.wav", _gain_to(x, sr, -46.0), "loudness_target")
    write("tanh10.wav", np.tanh(10 * x / np.abs(x).max()) / np.tanh(10), "over_compression")
    cut = x.copy()
    cut[4 * sr: int(5.1 * sr)] = 0.0
    write("dropout_1.1s.wav", cut, "dropout")
    write("near_silent_-62dBFS.wav", x * (10 ** (-62 / 20) / np.abs(x).max()), "not_silent")
    write("dead_channel_-42dB.wav", x * np.array([1.0, 10 ** (-42 / 20)]), "channel_silent")
    write("inverted.wav", x * np.array([1.0, -0.9]), "phase")
    return faults


@pytest.fixture(scope="module")
def heldout(reference, tmp_path_factory):
    if FFMPEG is None:
        pytest.skip("ffmpeg not found: the held-out set needs it for the lossy round trips "
                    "(apt-get install ffmpeg)")
    out = tmp_path_factory.mktemp("heldout")
    return clean_set(out), fault_set(out)


@pytest.mark.reference
def test_no_clean_heldout_file_fails_under_the_default_profile(heldout):
    clean, _ = heldout
    assert len(clean) == 4 * 12 + 2
    failed = {}
    for p in clean:
        item = check_path(str(p), CheckContext())
        bad = [(c.id, c.message) for c in item.checks if c.status in ("fail", "error")]
        if bad:
            failed[p.name] = bad
    assert failed == {}


@pytest.mark.reference
def test_each_fault_near_its_threshold_fails_with_its_own_id(heldout):
    _, faults = heldout
    for p, check_id in faults.items():
        item = check_path(str(p), CheckContext())
        c = item.check(check_id)
        assert c.status == "fail", (p.name, c.message)


def margins(clean: list[Path], faults: dict[Path, str]) -> dict[str, tuple]:
    """Per check: the clean file nearest its fail threshold and the nearest fault, as
    (value, threshold, file) of the check results."""
    near: dict[str, dict[str, tuple]] = {}
    for p in clean + list(faults):
        item = check_path(str(p), CheckContext())
        for c in item.checks:
            if not isinstance(c.value, (int, float)) or not isinstance(c.threshold, (int, float)):
                continue
            kind = "fault" if faults.get(p) == c.id else "clean" if p in clean else None
            if kind is None:
                continue
            d = abs(c.value - c.threshold)
            if c.id not in near.setdefault(kind, {}) or d < near[kind][c.id][0]:
                near[kind][c.id] = (d, c.status, c.value, c.threshold, p.name)
    return near


if __name__ == "__main__":  # pragma: no cover - prints the README table's margins
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        clean, faults = clean_set(Path(d)), fault_set(Path(d))
        near = margins(clean, faults)
        for kind in ("clean", "fault"):
            for cid, (dist, status, v, t, name) in sorted(near.get(kind, {}).items()):
                print(f"{kind:5s} {cid:18s} {status:5s} value {v:.6g} threshold {t:.6g} "
                      f"margin {dist:.4g} ({name})", file=sys.stdout)
