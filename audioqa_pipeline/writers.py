"""The reference pipeline's broken writers, for the save faults. ``save_audio`` runs them by
their ``module:function`` name in its timed child process, so a hang or a lost tail happens for
real and is caught by the real timeout and read-back. Each has a writer's signature:
``(path, samples (channels, frames) float64, sample_rate, format)``."""

from __future__ import annotations

import os
import threading

import numpy as np


def stalled_writer(path: str, x: np.ndarray, sr: int, fmt) -> None:
    """Writes 4 KiB, then blocks forever, like a wedged filesystem call."""
    with open(path, "wb") as f:
        f.write(b"RIFF" + bytes(4092))
        f.flush()
        threading.Event().wait()


def truncating_writer(path: str, x: np.ndarray, sr: int, fmt) -> None:
    """Writes a complete file, then loses the last 40 % of the bytes after the 44-byte WAV header
    and returns without an error (a disk filling up, a killed writer): header and data disagree."""
    import soundfile as sf

    sf.write(path, x.T, sr, format=fmt.container, subtype=fmt.subtype)
    size = os.path.getsize(path)
    os.truncate(path, 44 + (size - 44) * 6 // 10)
