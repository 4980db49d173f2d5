"""Reading a written file back with soundfile and comparing it with what was meant to be written.

Lossless formats: frames, rate, channels, subtype, and the payload to within one quantization
step of the subtype (exactly for FLOAT). Lossy formats: rate, channels, the frame count to within
the codec's padding, and the level to within 6 dB (an encoder that writes silence or a square
wave fails this). The int16 trap (a PCM-scale int16 tensor clamped to +-1) shows up as a payload
mismatch with almost every sample at full scale, and is named as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.io.formats import Format

#: Lossy codecs add encoder delay / padding: up to 2 MP3 frames or an Opus pre-skip plus a
#: 20 ms frame at 48 kHz; a longer difference is lost audio.
LOSSY_FRAME_SLACK = 2 * 1152 + 960 + 312
#: Lossy level window (dB): codecs change the RMS by well under 1 dB on music-like signals.
LOSSY_LEVEL_DB = 6.0


@dataclass(frozen=True)
class Verdict:
    """``outcome`` is "ok", "wrong_subtype" or "failed"; ``subtype`` what the file holds."""

    outcome: str
    message: str
    subtype: str | None = None
    square_wave: bool = False


def verify_file(path: str, expected: np.ndarray, sample_rate: int, fmt: Format) -> Verdict:
    """Compare ``path`` with ``expected`` (float64, (channels, frames))."""
    import soundfile as sf

    try:
        info = sf.info(path)
        got, sr = sf.read(path, dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as e:
        return Verdict("failed", f"the written file cannot be read back: {e}")
    got = got.T
    ch, n = expected.shape
    where = f"{info.format}/{info.subtype}, {sr} Hz, {got.shape[0]} ch, {got.shape[1]} frames"
    if sr != sample_rate or got.shape[0] != ch:
        return Verdict("failed", f"read back {where}; expected {sample_rate} Hz, {ch} ch", info.subtype)
    if info.format != fmt.container and not (fmt.container == "WAV" and info.format == "WAVEX"):
        return Verdict("failed", f"read back {where}; expected a {fmt.container} file", info.subtype)
    if fmt.lossless:
        if got.shape[1] != n:
            return Verdict("failed", f"read back {got.shape[1]} frames, expected {n}", info.subtype)
        err = float(np.max(np.abs(got - expected))) if n else 0.0
        square = _is_square(got, expected)
        if square:
            return Verdict("failed", "the file is a +-1 square wave: int16 PCM values were clamped "
                           "to full scale (pass float samples in [-1, 1])", info.subtype, True)
        if info.subtype not in fmt.accept:
            return Verdict("wrong_subtype", f"asked for {fmt.subtype}, the file holds {info.subtype}",
                           info.subtype)
        lsb = {"PCM_16": 2.0**-15, "PCM_24": 2.0**-23, "PCM_32": 2.0**-31}.get(info.subtype, 0.0)
        tol = max(lsb, 2.0**-24 if info.subtype == "FLOAT" else 0.0) * 1.5
        if err > tol:
            return Verdict("failed", f"payload differs from the input by up to {err:.3g} full scale "
                           f"(allowed {tol:.3g} for {info.subtype})", info.subtype)
        return Verdict("ok", f"{where}, payload matches", info.subtype)
    if abs(got.shape[1] - n) > LOSSY_FRAME_SLACK:
        return Verdict("failed", f"read back {got.shape[1]} frames, expected {n} (+-{LOSSY_FRAME_SLACK})",
                       info.subtype)
    level = _rms_db(got) - _rms_db(expected)
    if not abs(level) <= LOSSY_LEVEL_DB:
        return Verdict("failed", f"level changed by {level:+.1f} dB through the codec", info.subtype,
                       _is_square(got, expected))
    return Verdict("ok", f"{where}, level within {abs(level):.2f} dB", info.subtype)


def _is_square(got: np.ndarray, expected: np.ndarray) -> bool:
    """Most samples at +-1 where the input was not: the int16-into-float-API trap."""
    if got.size == 0:
        return False
    at_rail = float(np.mean(np.abs(got) >= 1.0 - 2.0**-14))
    was = float(np.mean(np.abs(expected) >= 1.0 - 2.0**-14))
    return at_rail > 0.5 and was < 0.1


def _rms_db(x: np.ndarray) -> float:
    ms = float(np.mean(np.square(x))) if x.size else 0.0
    return 10 * np.log10(ms) if ms > 0 else -400.0
