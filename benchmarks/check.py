"""`audio-qa check` on a 95 s stereo 44.1 kHz song: level metrics compute time and end to end.

    python -m benchmarks.check

Target (issue 2): the level metrics of such a file in under 50 ms of compute. Target (issue 18):
the six song checks add at most 25 % to the time of all file checks.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.make_fixtures import render_song  # noqa: E402
from qa.analyze import check_path  # noqa: E402
from qa.checks import FILE_CHECKS, CheckContext, run_file_checks  # noqa: E402
from qa.loading import load_audio  # noqa: E402
from qa.measure import Measurements  # noqa: E402
from qa.metrics.levels import level_stats  # noqa: E402


SONG_CHECKS = {"repetition", "truncated_end", "dead_air", "clicks", "stuck_note", "tempo_drift"}


def _best(fn, repeat: int = 7) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "song95.wav"
        x = render_song(95.0, sr=44100, bpm=120, seed=7)
        sf.write(path, x.T, 44100, subtype="PCM_16")
        audio = load_audio(path)
        print(f"file: 95 s stereo 44.1 kHz PCM_16 WAV, {path.stat().st_size / 1e6:.1f} MB, "
              f"{audio.frames * audio.channels:,} samples")
        best, med = _best(lambda: level_stats(audio.samples))
        print(f"level metrics (level_stats):     best {best * 1e3:7.1f} ms   median {med * 1e3:7.1f} ms   target < 50 ms")
        f32 = audio.samples * np.float32(0.9)  # off the int16 grid: the float path
        best, med = _best(lambda: level_stats(f32), repeat=3)
        print(f"level metrics, float32 samples:  best {best * 1e3:7.1f} ms   median {med * 1e3:7.1f} ms   (exact distinct count sorts)")
        best, med = _best(lambda: load_audio(path))
        print(f"load (soundfile, blockwise):     best {best * 1e3:7.1f} ms   median {med * 1e3:7.1f} ms")
        ctx = CheckContext()
        best, med = _best(lambda: run_file_checks(Measurements(audio), ctx), repeat=3)
        print(f"all file checks (in memory):     best {best * 1e3:7.1f} ms   median {med * 1e3:7.1f} ms")
        others = {s.id for s in FILE_CHECKS} - SONG_CHECKS
        # CPU time of this process, the two runs alternated: other processes' load on the
        # machine cancels out of the ratio
        cpu: dict[str, list[float]] = {"all": [], "others": []}
        for _ in range(3):
            for key, only in (("all", None), ("others", others)):
                t = time.process_time()
                run_file_checks(Measurements(audio), ctx, only=only)
                cpu[key].append(time.process_time() - t)
        a, o = min(cpu["all"]), min(cpu["others"])
        print(f"  CPU time, all / without the six song checks: {a * 1e3:7.1f} / {o * 1e3:7.1f} ms   "
              f"song checks add {a / o - 1:+.0%}; target <= +25 %")
        best, med = _best(lambda: check_path(str(path), ctx), repeat=3)
        print(f"check_path (load + checks):      best {best * 1e3:7.1f} ms   median {med * 1e3:7.1f} ms")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qa", "check", str(path)], cwd=ROOT, check=False,
                       capture_output=True)
        print(f"`audio-qa check` subprocess:     {time.perf_counter() - t:7.2f} s (incl. interpreter start-up and imports)")


if __name__ == "__main__":
    main()
