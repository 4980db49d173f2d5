"""Spectrogram and content-check cost on a 95 s stereo 44.1 kHz song (fixtures' render_song).

    python -m benchmarks.spectral

Prints wall time and the peak of Python allocations (tracemalloc) beyond the input itself for
(1) the display spectrogram, (2) the spectrogram pooled to 1200 columns, (3) the whole file
check run (every registered check, including the content checks).
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))

from make_fixtures import render_song  # noqa: E402

from qa.analyze import check_audio  # noqa: E402
from qa.audio import Audio  # noqa: E402
from qa.checks import CheckContext  # noqa: E402
from qa.metrics.spectral import log_spectrogram  # noqa: E402

SECONDS, RATE = 95.0, 44100


def measure(label: str, fn, repeat: int = 3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<44} {best:7.3f} s   peak {peak / 2**20:7.1f} MiB")
    return out, best, peak


def main() -> int:
    song = render_song(SECONDS, sr=RATE).astype(np.float32)
    size = song.nbytes / 2**20
    print(f"input: {SECONDS:.0f} s stereo {RATE} Hz float32 ({size:.1f} MiB)")
    spec, t_spec, _ = measure("log_spectrogram (256 bands, hop 512)", lambda: log_spectrogram(song, RATE))
    print(f"  -> {spec.db.shape[0]} x {spec.db.shape[1]} ({spec.db.nbytes / 2**20:.1f} MiB float32)")
    measure("log_spectrogram max_columns=1200", lambda: log_spectrogram(song, RATE, max_columns=1200))
    audio = Audio.from_array(song, RATE)
    item, _, _ = measure("whole check run (all file checks)", lambda: check_audio(audio, CheckContext()), repeat=1)
    print("  -> " + ", ".join(f"{c.id}={c.status}" for c in item.checks))
    ok = t_spec < 1.0
    print(f"target: spectrogram under 1 s: {'met' if ok else 'NOT met'} ({t_spec:.3f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
