"""The save stage: write the PCM to a file under a timeout, then read it back and verify it.

``write_wav`` stands in for ``qa.io.save_audio`` (issue 6) with the same call shape; switching
is the one import line marked below. The writer runs in a daemon thread so a save that hangs in
C code (a FIFO, a stuck network mount, an FFmpeg muxer) is cut at ``timeout_s`` and reported as
``save_timeout`` instead of hanging the run.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from qa.results import CheckResult


def write_wav(samples: np.ndarray, path: str, sample_rate: int, *, subtype: str = "PCM_16") -> None:
    """A float writer in the torchaudio >= 2.9 manner: (channels, samples) float in [-1, 1],
    clamped, written as ``subtype``."""
    x = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    sf.write(path, x.T, sample_rate, subtype=subtype)


save_audio = write_wav  # switch to: from qa.io import save_audio (issue 6)


@dataclass
class SaveOutcome:
    path: str
    checks: list[CheckResult]
    written: bool


def save_with_timeout(samples: np.ndarray, path: str, sample_rate: int, timeout_s: float) -> SaveOutcome:
    """Run the writer in a daemon thread; a writer still running after ``timeout_s`` is left
    behind and reported."""
    box: dict[str, BaseException] = {}

    def work() -> None:
        try:
            save_audio(samples, path, sample_rate)
        except BaseException as e:  # carried to the caller below, never swallowed
            box["error"] = e

    th = threading.Thread(target=work, name=f"audio-qa-save[{os.path.basename(path)}]", daemon=True)
    th.start()
    th.join(timeout_s)
    if th.is_alive():
        return SaveOutcome(path, [CheckResult(
            "save_timeout", "fail", f"saving {path} did not finish within {timeout_s:g} s; the writer "
            "thread is blocked (its stack is in the stage's 'stall' record)", timeout_s, timeout_s, "s",
            hint="run `audio-qa doctor` for timed saves per backend; check the output path is a "
            "regular file on a responsive filesystem")], False)
    if "error" in box:
        e = box["error"]
        return SaveOutcome(path, [CheckResult("save_roundtrip", "fail",
                                              f"saving {path} failed: {type(e).__name__}: {e}")], False)
    return SaveOutcome(path, [CheckResult("save_timeout", "pass", f"saved {path}", None, timeout_s, "s")], True)


def verify_written(path: str, pcm: np.ndarray, sample_rate: int) -> CheckResult:
    """Read the file back: frames, channels, rate and samples must be what was handed over."""
    try:
        info = sf.info(path)
        back, sr = sf.read(path, dtype="int16", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        return CheckResult("save_roundtrip", "fail", f"{path}: cannot be read back: {e}",
                           hint="the file is damaged; check free space and that the writer finished")
    want_ch, want_n = pcm.shape
    if back.shape != (want_n, want_ch):
        return CheckResult(
            "save_roundtrip", "fail",
            f"{path}: read back {back.shape[0]} frames x {back.shape[1]} ch, wrote {want_n} x {want_ch} "
            f"(header says {info.frames} frames): the file is truncated", back.shape[0], want_n, "frames",
            hint="the write was cut short (disk full, killed process); write to a temporary file and rename")
    diff = int(np.abs(back.T.astype(np.int32) - pcm.astype(np.int32)).max())
    if diff > 1:
        return CheckResult("save_roundtrip", "fail", f"{path}: samples differ by up to {diff} LSB after reading back",
                           diff, 1, "lsb", hint="the writer converted or clamped the samples")
    return CheckResult("save_roundtrip", "pass", f"{path}: {want_n} frames x {want_ch} ch read back identical",
                       diff, 1, "lsb")


def unblock_fifo(path: str) -> str | None:
    """Let a writer blocked opening a FIFO finish (it then fails with a broken pipe).
    Returns why it could not, or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        return f"could not open {path} to release the blocked writer: {e}"
    os.close(fd)
    return None
