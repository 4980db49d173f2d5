"""Spectrogram and content-check cost on a 95 s stereo 44.1 kHz song (fixtures' render_song).

    python -m benchmarks.spectral

Prints wall time and the peak of Python allocations (tracemalloc) beyond the input itself for
(1) the display spectrogram, (2) the spectrogram pooled to 1200 columns, (3) each metric group
the file checks read ("levels", "content", "seams"), (4) the whole file check run (every
registered check, including the content checks).

Targets (issue 4b): the whole check run under 1.5 s, its peak under the size of the input.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))

from make_fixtures import render_song  # noqa: E402

from qa.analyze import check_audio  # noqa: E402
from qa.loading import load_audio  # noqa: E402
from qa.checks import CheckContext  # noqa: E402
from qa.measure import METRIC_GROUPS, Measurements  # noqa: E402
from qa.metrics.spectral import log_spectrogram  # noqa: E402

SECONDS, RATE = 95.0, 44100


def measure(label: str, fn, repeat: int = 3):
    """Best wall time and best CPU time (process_time: less sensitive to other processes on a
    shared machine) of ``repeat`` runs, then one run under tracemalloc for the peak."""
    best = cpu = float("inf")
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<44} {best:7.3f} s  cpu {cpu:7.3f} s   peak {peak / 2**20:7.1f} MiB")
    return out, best, peak


def main() -> int:
    with tempfile.TemporaryDirectory() as d:
        # the file `audio-qa check` reads: PCM_16 WAV, loaded as float32 on the int16 grid
        path = Path(d) / "song95.wav"
        sf.write(path, render_song(SECONDS, sr=RATE).T, RATE, subtype="PCM_16")
        audio = load_audio(path)
    song = audio.samples
    size = song.nbytes / 2**20
    print(f"input: {SECONDS:.0f} s stereo {RATE} Hz PCM_16 WAV, loaded as {song.dtype} ({size:.1f} MiB)")
    spec, t_spec, _ = measure("log_spectrogram (256 bands, hop 512)", lambda: log_spectrogram(song, RATE))
    print(f"  -> {spec.db.shape[0]} x {spec.db.shape[1]} ({spec.db.nbytes / 2**20:.1f} MiB float32)")
    measure("log_spectrogram max_columns=1200", lambda: log_spectrogram(song, RATE, max_columns=1200))
    for name, fn in METRIC_GROUPS.items():
        measure(f'metric group "{name}"', lambda name=name: Measurements(audio).group(name))
    item, t_run, peak_run = measure("whole check run (all file checks)",
                                    lambda: check_audio(audio, CheckContext()))
    print("  -> " + ", ".join(f"{c.id}={c.status}" for c in item.checks))
    ok_spec = t_spec < 1.0
    ok_run = t_run < 1.5
    ok_mem = peak_run < song.nbytes
    print(f"target: spectrogram under 1 s: {'met' if ok_spec else 'NOT met'} ({t_spec:.3f} s)")
    print(f"target: check run under 1.5 s: {'met' if ok_run else 'NOT met'} ({t_run:.3f} s)")
    print(f"target: check run peak under the input's {size:.1f} MiB: "
          f"{'met' if ok_mem else 'NOT met'} ({peak_run / 2**20:.1f} MiB)")
    return 0 if ok_spec and ok_run and ok_mem else 1


if __name__ == "__main__":
    raise SystemExit(main())
