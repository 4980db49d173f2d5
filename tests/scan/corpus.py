"""Small real corpora for the scan tests: mixed rates, formats, lengths, and broken files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

RATES = (22050, 44100, 48000)
FORMATS = (("wav", "PCM_16"), ("flac", "PCM_24"), ("wav", "FLOAT"))


def song(i: int, sr: int, seconds: float) -> np.ndarray:
    """A two-channel tone mix with an envelope, different per ``i`` (frames, channels)."""
    t = np.arange(int(sr * seconds)) / sr
    f = 110.0 * (1 + i % 7)
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t) ** 2
    x = 0.25 * env * (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(2 * np.pi * 3.01 * f * t))
    rng = np.random.default_rng(i)
    x = x + 0.01 * rng.standard_normal(t.size)
    return np.stack([x, 0.8 * x], axis=1)


def write_corpus(folder: Path, n: int, *, broken: int = 2, clipped: tuple[int, ...] = ()) -> list[Path]:
    """``n`` good files (0.5 to 1.5 s) plus ``broken`` unreadable ones; files whose index is in
    ``clipped`` are driven 4x into full scale."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        sr = RATES[i % len(RATES)]
        ext, subtype = FORMATS[i % len(FORMATS)]
        x = song(i, sr, 0.5 + (i % 3) * 0.5)
        if i in clipped:
            x = np.clip(4 * x, -1.0, 1.0)
        p = folder / f"song{i:03d}.{ext}"
        sf.write(p, x, sr, subtype=subtype)
        paths.append(p)
    for j in range(broken):
        p = folder / f"broken{j}.wav"
        p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEjunk" * (j + 1))
        paths.append(p)
    return paths


def read_rows(run_dir: Path) -> list[dict]:
    """Every row of a run directory, in file order of the shards."""
    rows = []
    for f in sorted((run_dir / "rows").glob("shard-*.jsonl")):
        rows.extend(json.loads(line) for line in f.read_text().splitlines())
    return rows


def summary_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def subprocess_env() -> dict:
    """The environment for a ``python -m qa`` or ``dask`` child that imports this checkout."""
    import os

    from tests.conftest import ROOT

    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
