"""`audio-qa scan` over a generated corpus with --jobs 1 and --jobs 2: files/s, CPU seconds per
audio hour, the speed-up, peak memory.

    python -m benchmarks.scan [--files 2000] [--jobs 1 2]

The corpus: mixed sample rates (22.05, 44.1, 48 kHz), formats (PCM_16 WAV, 24-bit FLAC, float
WAV, Ogg Vorbis) and lengths (1 to 8 s), 1 % broken (garbage and cut-short headers) and one FIFO
named like a WAV, a reader that would block forever. Each scan runs as its own ``python -m qa``
process; CPU time and peak RSS are read from ``getrusage(RUSAGE_CHILDREN)`` around it, which
covers the scan and its worker children. Target (issue 16): --jobs 2 at least 1.8x --jobs 1 on
this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
FORMATS = (("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_24"), ("wav", "WAV", "FLOAT"), ("ogg", "OGG", "VORBIS"))
RATES = (22050, 44100, 48000)


def make_corpus(folder: Path, n: int, seed: int = 16) -> float:
    """``n`` files in ``folder`` and ``manifest.jsonl`` listing them with their sample rates (a
    directory walk skips the FIFO, a manifest names it); returns the seconds of audio written."""
    rng = np.random.default_rng(seed)
    total = 0.0
    lines = []
    for i in range(n):
        p = folder / f"song{i:05d}"
        if i % 100 == 37:  # 1 % broken: alternately garbage and a header cut short
            data = b"RIFF\x24\x10\x00\x00WAVEfmt " + (b"\x00" * 8 if i % 200 == 37 else rng.bytes(400))
            p.with_suffix(".wav").write_bytes(data)
            lines.append({"path": p.with_suffix(".wav").name})
            continue
        ext, fmt, subtype = FORMATS[i % len(FORMATS)]
        sr = RATES[i % len(RATES)]
        seconds = float(rng.uniform(1.0, 8.0))
        t = np.arange(int(sr * seconds)) / sr
        f0 = rng.uniform(80, 880)
        x = 0.2 * (np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(2 * np.pi * 2.01 * f0 * t))
        x *= 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.2, 2.0) * t) ** 2
        x = x + 0.02 * rng.standard_normal(t.size)
        sf.write(p.with_suffix(f".{ext}"), np.stack([x, 0.9 * x], axis=1), sr, format=fmt, subtype=subtype)
        lines.append({"path": p.with_suffix(f".{ext}").name, "sample_rate": sr, "channels": 2})
        total += seconds
    os.mkfifo(folder / "stalled-reader.wav")
    lines.append({"path": "stalled-reader.wav", "sample_rate": 48000})
    (folder / "manifest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return total


def scan(corpus: Path, out: Path, jobs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "qa", "scan", "--manifest", str(corpus / "manifest.jsonl"), "--out", str(out), "--jobs", str(jobs)],
                       env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode not in (0, 1):
        raise SystemExit(f"scan failed ({r.returncode}): {r.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"jobs": jobs, "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": after.ru_maxrss / 1024,
            "files": summary["files"], "audio_h": summary["audio_hours"], "summary": summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        corpus = Path(d) / "corpus"
        corpus.mkdir()
        t = time.perf_counter()
        seconds = make_corpus(corpus, args.files)
        print(f"corpus: {args.files + 1} files ({args.files // 100} broken, 1 FIFO), {seconds / 3600:.2f} h of audio, "
              f"generated in {time.perf_counter() - t:.0f} s; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores")
        results = [scan(corpus, Path(d) / f"run-j{j}", j) for j in args.jobs]
        for r in results:
            print(f"--jobs {r['jobs']}: {r['files']} files in {r['wall_s']:.1f} s = {r['files'] / r['wall_s']:.1f} files/s, "
                  f"{r['audio_h'] * 3600 / r['wall_s']:.0f}x real time; CPU {r['cpu_s']:.1f} s = "
                  f"{r['cpu_s'] / r['audio_h']:.0f} CPU s per audio hour; peak RSS of any scan process "
                  f"{r['peak_rss_mb']:.0f} MB")
        base = results[0]
        for r in results[1:]:
            same = {k: v for k, v in r["summary"].items()} == base["summary"]
            print(f"speed-up --jobs {r['jobs']} / --jobs {base['jobs']}: {base['wall_s'] / r['wall_s']:.2f}x "
                  f"(target >= 1.8x with 2 jobs); same summary.json: {same}")
        rows = [json.loads(line) for f in sorted((Path(d) / f"run-j{base['jobs']}" / "rows").iterdir())
                for line in f.read_text().splitlines()]
        fifo = next(r for r in rows if r["path"].endswith("stalled-reader.wav"))
        print(f"FIFO row: {fifo['status']}: {fifo['checks'][0]['message']}")


if __name__ == "__main__":
    main()
