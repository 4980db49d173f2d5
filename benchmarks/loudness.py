"""Loudness meter speed, side by side in one process on the same 95 s stereo 44.1 kHz
music-like signal (fixtures/make_fixtures.py ``render_song``):

* audio-qa: integrated + LRA + true peak + momentary/short-term maxima and series,
* libebur128 (pyebur128): integrated loudness only (``MODE_I``), on the same float32 array,
* pyloudnorm: integrated loudness only,
* ffmpeg ``ebur128=peak=true`` (I, LRA, true peak) when ffmpeg is on PATH; its time includes
  process start and reading a float WAV from a temp dir.

audio-qa, libebur128 and pyloudnorm run alternately in the same process (same thread
settings, same load from other processes), ``REPEAT`` times each; the best and the median of
the wall time and of the CPU time (``time.process_time``, the figure to compare on a shared
machine) are printed, with the first (cold) audio-qa call, the load average and the
BLAS/OpenMP thread settings in force. Target (issue 16): audio-qa's full set in less CPU time
than libebur128's integrated loudness alone. audio-qa limits BLAS
to one thread inside its true-peak stage only; pyloudnorm runs with the process defaults.
Run: ``python -m benchmarks.loudness [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))

REPEAT = 9
SECONDS = 95.0
RATE = 44100


def _ebur128_integrated(x, rate: int) -> float:
    import numpy as np
    import pyebur128

    st = pyebur128.R128State(x.shape[0], rate, pyebur128.MeasurementMode.MODE_I)
    st.add_frames(np.ascontiguousarray(x.T).reshape(-1), x.shape[1])
    return pyebur128.get_loudness_global(st)


def _timed(fn, wall: list[float], cpu: list[float]):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    wall.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
    return out


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


def _threads() -> str:
    """The thread settings in force: environment variables and the loaded BLAS/OpenMP pools."""
    env = [f"{k}={os.environ[k]}" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                           "MKL_NUM_THREADS") if k in os.environ]
    from threadpoolctl import threadpool_info

    pools = sorted({f"{p['internal_api']}:{p['num_threads']}" for p in threadpool_info()})
    return (f"cpus {os.cpu_count()}, env {' '.join(env) or '(no thread variables set)'}, "
            f"pools {', '.join(pools) or 'none loaded'}")


def _ms(ts: list[float]) -> str:
    return f"best {min(ts) * 1e3:7.1f} ms  median {statistics.median(ts) * 1e3:7.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=REPEAT, help="timed runs of each meter")
    repeat = ap.parse_args().repeat

    import numpy as np
    import soundfile as sf

    from make_fixtures import render_song
    from qa.metrics.loudness import measure_loudness

    x = render_song(SECONDS, sr=RATE).astype(np.float32)  # what load_audio gives
    print(f"signal: render_song({SECONDS:g} s), {RATE} Hz stereo float32, {x.shape[1]} frames")
    from benchmarks.machine import conditions

    print(conditions())
    try:
        import pyloudnorm
    except ImportError:
        print("pyloudnorm: not installed (pip install 'audio-qa[metrics]'), skipped")
        meter = None
    else:
        meter = pyloudnorm.Meter(RATE)
    try:
        i_ebu = _ebur128_integrated(x, RATE)
    except ImportError:
        print("pyebur128: not installed, skipped")
        i_ebu = None
    print(f"threads: {_threads()}")
    t = time.perf_counter()
    r = measure_loudness(x, RATE)
    cold = time.perf_counter() - t
    ours, ours_cpu, theirs, theirs_cpu, ebu, ebu_cpu = [], [], [], [], [], []
    for _ in range(repeat):  # alternate, so all see the same conditions
        r = _timed(lambda: measure_loudness(x, RATE), ours, ours_cpu)
        if i_ebu is not None:
            i_ebu = _timed(lambda: _ebur128_integrated(x, RATE), ebu, ebu_cpu)
        if meter is not None:
            i_pyln = _timed(lambda: meter.integrated_loudness(x.T.astype(np.float64)), theirs,
                            theirs_cpu)
    print(f"audio-qa  all measures     {_ms(ours)}  cpu {_ms(ours_cpu)}  (first call "
          f"{cold * 1e3:.1f} ms)  I {r.integrated_lufs:.2f} LUFS  LRA {r.lra_lu:.2f} LU  "
          f"TP {r.true_peak_dbtp:.2f} dBTP  M max {r.momentary_max_lufs:.2f}  "
          f"S max {r.short_term_max_lufs:.2f}")
    t_ours = min(ours)
    if ebu:
        print(f"libebur128 integrated only {_ms(ebu)}  cpu {_ms(ebu_cpu)}  I {i_ebu:.2f} LUFS")
    t_pyln = min(theirs) if theirs else None
    if theirs:
        print(f"pyloudnorm integrated only {_ms(theirs)}  cpu {_ms(theirs_cpu)}  I {i_pyln:.2f} LUFS")
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
    if ebu:
        ratio = min(ebu_cpu) / min(ours_cpu)
        print(f"ratio libebur128(I only) / audio-qa(all), CPU = {ratio:.2f}x (best), "
              f"{statistics.median(ebu_cpu) / statistics.median(ours_cpu):.2f}x (median); "
              f"target > 1: {'met' if ratio > 1 else 'NOT met'}")
    if t_pyln:
        print(f"ratio pyloudnorm(I only) / audio-qa(all) = {t_pyln / t_ours:.2f}x (best), "
              f"{statistics.median(theirs) / statistics.median(ours):.2f}x (median)")
    if t_ff:
        print(f"ratio ffmpeg(all) / audio-qa(all)        = {t_ff / t_ours:.2f}x")



if __name__ == "__main__":
    main()
