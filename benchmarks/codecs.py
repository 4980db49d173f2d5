"""Codec round trips of a 10 s stereo clip, and the speed-up of ``--jobs 2``.

    python -m benchmarks.codecs [--repeat N] [--path FILE]

Round trip of fixtures/audio/song_pop_10s.flac through pcm16, flac, mp3:128, opus:64 and
vorbis (quality 4) with every metric except ViSQOL, once with one process and once with two
(best of ``--repeat`` runs each), printing the metrics, per-codec timings and the ratio.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

from qa.roundtrip import CompareOptions, _preload, run_roundtrips

SPECS = ["pcm16", "flac", "mp3:128", "opus:64", "vorbis"]
CLIP = Path(__file__).resolve().parent.parent / "fixtures" / "audio" / "song_pop_10s.flac"


def _fmt(v) -> str:
    return "null" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--path", default=str(CLIP))
    args = ap.parse_args(argv)
    options = CompareOptions(skip=("visqol_moslqo",))
    _preload(options)  # imports paid once, outside the timings (workers fork after them)
    run_roundtrips(args.path, SPECS[:1], options=options)  # warm-up: first-call costs
    times = {}
    items = None
    load = os.getloadavg()
    cpu = {}
    for jobs in (1, 2):
        best = float("inf")
        c0 = _cpu()
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            items = run_roundtrips(args.path, SPECS, jobs=jobs, options=options)
            best = min(best, time.perf_counter() - t0)
        times[jobs] = best
        cpu[jobs] = (_cpu() - c0) / args.repeat
    print(f"clip: {args.path} (cpus: {os.cpu_count()}, load average before: "
          f"{load[0]:.2f}, after: {os.getloadavg()[0]:.2f}; other processes share the cores)")
    names = ["delay_samples", "snr_db", "seg_snr_db", "si_sdr_db", "lsd_db"]
    print(f"{'codec':10s} {'kbps':>8s} " + " ".join(f"{n:>13s}" for n in names)
          + f" {'enc s':>7s} {'dec s':>7s} {'metrics s':>9s}")
    for it in items:
        t = it.extra.get("timing", {})
        print(f"{it.extra['codec']:10s} {_fmt(it.extra.get('encoded_kbps')):>8s} "
              + " ".join(f"{_fmt(it.metrics[n]):>13s}" for n in names)
              + f" {t.get('encode_s', 0):7.3f} {t.get('decode_s', 0):7.3f} {t.get('metrics_s', 0):9.3f}")
    print(f"--jobs 1: {times[1]:.3f} s   --jobs 2: {times[2]:.3f} s   "
          f"speed-up: {times[1] / times[2]:.2f}x (best of {args.repeat})")
    print(f"CPU seconds per run (this process + workers): --jobs 1: {cpu[1]:.3f}, "
          f"--jobs 2: {cpu[2]:.3f}; a speed-up needs two idle cores")


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
