"""Loudness meter speed, side by side in one process on the same 95 s stereo 44.1 kHz
music-like signal (fixtures/make_fixtures.py ``render_song``):

* audio-qa: integrated + LRA + true peak + momentary/short-term maxima and series,
* pyloudnorm: integrated loudness only,
* ffmpeg ``ebur128=peak=true`` (I, LRA, true peak) when ffmpeg is on PATH; its time includes
  process start and reading a float WAV from a temp dir.

Best of ``REPEAT`` runs each. Run: ``python -m benchmarks.loudness``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))

REPEAT = 5
SECONDS = 95.0
RATE = 44100


def _best(fn, repeat: int = REPEAT) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _ffmpeg(path: Path) -> dict[str, float]:
    p = subprocess.run(["ffmpeg", "-nostats", "-hide_banner", "-i", str(path), "-af",
                        "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True,
                       check=True)
    summary = p.stderr[p.stderr.rfind("Summary:"):]
    out = {}
    for key, pat in (("I", r"I:\s+(-?[\d.]+) LUFS"), ("LRA", r"LRA:\s+(-?[\d.]+) LU"),
                     ("TP", r"Peak:\s+(-?[\d.]+) dBFS")):
        m = re.search(pat, summary)
        if m is None:
            raise RuntimeError(f"ffmpeg ebur128 summary without {key}: {summary!r}")
        out[key] = float(m.group(1))
    return out


def main() -> None:
    import numpy as np
    import soundfile as sf

    from make_fixtures import render_song
    from qa.metrics.loudness import measure_loudness

    x = render_song(SECONDS, sr=RATE)
    print(f"signal: render_song({SECONDS:g} s), {RATE} Hz stereo, {x.shape[1]} frames")
    t_ours, r = _best(lambda: measure_loudness(x, RATE))
    print(f"audio-qa  all measures     {t_ours * 1e3:8.1f} ms  I {r.integrated_lufs:.2f} LUFS  "
          f"LRA {r.lra_lu:.2f} LU  TP {r.true_peak_dbtp:.2f} dBTP  M max {r.momentary_max_lufs:.2f}"
          f"  S max {r.short_term_max_lufs:.2f}")
    try:
        import pyloudnorm
    except ImportError:
        print("pyloudnorm: not installed (pip install 'audio-qa[metrics]'), skipped")
        t_pyln = None
    else:
        meter = pyloudnorm.Meter(RATE)
        t_pyln, i_pyln = _best(lambda: meter.integrated_loudness(x.T))
        print(f"pyloudnorm integrated only {t_pyln * 1e3:8.1f} ms  I {i_pyln:.2f} LUFS")
    t_ff = None
    if shutil.which("ffmpeg"):
        with tempfile.TemporaryDirectory() as d:
            wav = Path(d) / "song.wav"
            sf.write(wav, x.T.astype(np.float32), RATE, subtype="FLOAT")
            t_ff, ff = _best(lambda: _ffmpeg(wav), repeat=3)
        print(f"ffmpeg ebur128 peak=true   {t_ff * 1e3:8.1f} ms  I {ff['I']:.1f} LUFS  "
              f"LRA {ff['LRA']:.1f} LU  TP {ff['TP']:.1f} dBTP")
    else:
        print("ffmpeg: not on PATH, skipped")
    if t_pyln:
        print(f"ratio pyloudnorm(I only) / audio-qa(all) = {t_pyln / t_ours:.2f}x")
    if t_ff:
        print(f"ratio ffmpeg(all) / audio-qa(all)        = {t_ff / t_ours:.2f}x")


if __name__ == "__main__":
    main()
