"""The doctor's child process: import one backend, then time real saves of each format.

``python -m qa.doctor.probe SPEC`` emits JSON lines: ``import`` (seconds, versions or the error),
one ``saved`` per format (cold = first save, warm = second), ``song`` per format when a song
length is asked for, ``int16`` (torchaudio: an int16 PCM-scale tensor saved as-is, as user code
does) and ``done``. faulthandler is re-armed before each step so a hang leaves the stack on stderr.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from qa.io.child import arm, describe_error, emit, enable_dumps

#: Test signal: 1 s at 48 kHz (Opus only takes 8-48 kHz), stereo, 440 + 1000 Hz at -9 dBFS
#: peak, quantized to int16 steps so that every lossless subtype must return it exactly.
TEST_RATE = 48000
TEST_SECONDS = 1.0

#: A song-length save (``--duration``) may take the save timeout plus this many seconds per
#: second of audio: encoders run 20-50x real time, so a quarter of real time is a hang.
SONG_SAVE_S_PER_S = 0.25


def song_timeout(timeout: float, duration: float) -> float:
    """Seconds a ``duration``-second save may take (see :data:`SONG_SAVE_S_PER_S`)."""
    return timeout + SONG_SAVE_S_PER_S * duration


def test_signal(seconds: float = TEST_SECONDS, sr: int = TEST_RATE) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    left = 0.2 * np.sin(2 * np.pi * 440 * t) + 0.15 * np.sin(2 * np.pi * 1000 * t)
    right = 0.2 * np.sin(2 * np.pi * 440 * t + 1.0) + 0.15 * np.sin(2 * np.pi * 1000 * t + 0.5)
    return np.round(np.stack([left, right]) * 32768.0) / 32768.0


def _main(spec: dict) -> int:
    import faulthandler

    from qa.io.backends import get_backend
    from qa.io.formats import FORMATS

    enable_dumps()
    backend = get_backend(spec["backend"])
    timeout = float(spec["timeout"])
    arm(float(spec.get("import_timeout") or timeout))
    t0 = time.perf_counter()
    try:
        info = backend.info()
    except (ImportError, OSError, RuntimeError, ValueError, subprocess_error()) as e:
        emit({"event": "import", "ok": False, "seconds": time.perf_counter() - t0,
              "error": describe_error(e)})
        return 0
    emit({"event": "import", "ok": True, "seconds": time.perf_counter() - t0, "info": info})
    x = test_signal()
    for name in spec["formats"]:
        fmt = FORMATS[name]
        times = []
        try:
            for run in ("cold", "warm"):
                path = os.path.join(spec["dir"], f"{backend.name}-{name}-{run}{fmt.suffix}")
                emit({"event": "start", "format": name, "path": path})
                arm(timeout)
                t = time.perf_counter()
                backend.write(path, x, TEST_RATE, fmt)
                times.append(time.perf_counter() - t)
        except (ImportError, OSError, RuntimeError, ValueError, TypeError) as e:
            emit({"event": "saved", "format": name, "ok": False, "error": describe_error(e),
                  "cold_s": times[0] if times else None})
            continue
        emit({"event": "saved", "format": name, "ok": True, "cold_s": times[0], "warm_s": times[1],
              "path": os.path.join(spec["dir"], f"{backend.name}-{name}-cold{fmt.suffix}")})
        if spec.get("duration"):
            song = test_signal(float(spec["duration"]))
            path = os.path.join(spec["dir"], f"{backend.name}-{name}-song{fmt.suffix}")
            emit({"event": "start", "format": f"{name}@song", "path": path})
            arm(song_timeout(timeout, float(spec["duration"])))
            t = time.perf_counter()
            try:
                backend.write(path, song, TEST_RATE, fmt)
            except (ImportError, OSError, RuntimeError, ValueError, TypeError) as e:
                emit({"event": "song", "format": name, "ok": False, "error": describe_error(e)})
                continue
            emit({"event": "song", "format": name, "ok": True, "seconds": time.perf_counter() - t, "path": path,
                  "duration": float(spec["duration"])})
    if spec.get("int16_trap"):
        _int16(spec["dir"], x, timeout)
    faulthandler.cancel_dump_traceback_later()
    emit({"event": "done"})
    return 0


def _int16(folder: str, x: np.ndarray, timeout: float) -> None:
    """What user code does: torchaudio.save of an int16 tensor at PCM scale."""
    import torch
    import torchaudio

    path = os.path.join(folder, "torchaudio-int16-tensor.wav")
    emit({"event": "start", "format": "int16_tensor", "path": path})
    arm(timeout)
    pcm = torch.from_numpy(np.round(x * 32768.0).clip(-32768, 32767).astype(np.int16))
    try:
        torchaudio.save(path, pcm, TEST_RATE)
    except (RuntimeError, ValueError, TypeError) as e:
        emit({"event": "int16", "ok": False, "error": describe_error(e)})
        return
    emit({"event": "int16", "ok": True, "path": path})


def subprocess_error() -> type:
    import subprocess

    return subprocess.SubprocessError


if __name__ == "__main__":
    sys.exit(_main(json.loads(sys.argv[1])))
