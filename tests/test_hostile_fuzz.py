"""Seeded mutation fuzz of ``audio-qa check`` as a real process (issue 15): 2,000 truncated,
size-lying, bit-flipped, renamed and random inputs across WAV, RF64, W64, AIFF, AIFC, AU, CAF,
FLAC, Ogg Vorbis and MP3, in folders of 500. Asserted: no traceback, exit 0/1/2, one item per
input, no malformed input read as valid audio, peak memory under the decode budget."""

import io
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from qa.loading import DECODE_BUDGET_MB
from tests.conftest import ROOT

SEED = 15
N_PER_FOLDER = 500
FOLDERS = 4

# (format, subtype, extension): the containers libsndfile reads.
KINDS = [("WAV", "PCM_16", "wav"), ("WAV", "FLOAT", "wav"), ("RF64", "PCM_24", "rf64"),
         ("W64", "PCM_16", "w64"), ("AIFF", "PCM_16", "aiff"), ("AIFF", "ULAW", "aifc"),
         ("AU", "PCM_16", "au"), ("CAF", "PCM_16", "caf"), ("FLAC", "PCM_16", "flac"),
         ("OGG", "VORBIS", "ogg"), ("MP3", "MPEG_LAYER_III", "mp3")]


def _seed_files(rng) -> dict[str, tuple[bytes, str]]:
    out = {}
    for fmt, sub, ext in KINDS:
        x = 0.2 * rng.standard_normal((int(rng.integers(1600, 4000)), int(rng.integers(1, 3))))
        b = io.BytesIO()
        sf.write(b, x, 8000 if fmt != "OGG" else 16000, format=fmt, subtype=sub)
        out[f"{fmt}-{sub}"] = (b.getvalue(), ext)
    return out


def _size_fields(kind: str, raw: bytes) -> list[tuple[int, str]]:
    """(offset, struct format) of the length fields a lying header would change."""
    if kind.startswith(("WAV", "RF64")):
        d = raw.index(b"data")
        return [(d + 4, "<I")] if kind.startswith("WAV") else [(raw.index(b"ds64") + 16, "<Q")]
    if kind.startswith("W64"):
        return [(raw.index(b"data\xf3\xac") + 16, "<Q")]
    if kind.startswith("AIFF"):
        c = raw.index(b"COMM")
        return [(c + 10, ">I"), (raw.index(b"SSND") + 4, ">I")]
    if kind.startswith("AU"):
        return [(8, ">I")]
    if kind.startswith("CAF"):
        return [(raw.index(b"data") + 4, ">q")]
    if kind.startswith("FLAC"):
        return [(raw.index(b"fLaC") + 8 + 14, ">I")]  # low 32 bits of the total samples
    return []


def _mutants(rng, seeds):
    """(name, bytes, malformed): malformed inputs must not be read as valid audio."""
    names = list(seeds)
    for i in range(N_PER_FOLDER * FOLDERS):
        kind = names[int(rng.integers(len(names)))]
        raw, ext = seeds[kind]
        op = rng.choice(["cut", "lie", "flip", "flip", "rename", "random"], p=[.35, .2, .15, .15, .1, .05])
        data, malformed = bytearray(raw), False
        if op == "cut" and not kind.startswith("MP3"):
            cut = int(rng.integers(1, len(raw) - 1))
            data = data[:cut]
            malformed = not (kind.startswith("OGG") and raw.startswith(b"OggS", cut))
        elif op == "lie" and _size_fields(kind, raw):
            fields = _size_fields(kind, raw)
            at, fmt = fields[int(rng.integers(len(fields)))]
            old = struct.unpack(fmt, data[at : at + struct.calcsize(fmt)])[0]
            new = old + int(rng.integers(1, 1 << 20)) * (4 if "COMM" not in kind else 1)
            data[at : at + struct.calcsize(fmt)] = struct.pack(fmt, new)
            malformed = True
        elif op in ("flip", "lie", "cut"):
            for _ in range(int(rng.integers(1, 8))):
                k = int(rng.integers(len(data)))
                data[k] ^= 1 << int(rng.integers(8))
        elif op == "rename":
            ext = KINDS[int(rng.integers(len(KINDS)))][2]
        else:
            data = bytearray(rng.integers(0, 256, int(rng.integers(1, 3000)), dtype=np.uint8).tobytes())
            malformed = True
        yield f"{i:04d}_{op}_{kind}.{ext}", bytes(data), malformed


@pytest.mark.slow
def test_thousands_of_hostile_inputs(tmp_path):
    rng = np.random.default_rng(SEED)
    seeds = _seed_files(rng)
    malformed: set[str] = set()
    for k, (name, data, bad) in enumerate(_mutants(rng, seeds)):
        folder = tmp_path / f"batch{k // N_PER_FOLDER}"
        folder.mkdir(exist_ok=True)
        (folder / name).write_bytes(data)
        if bad:
            malformed.add(str(folder / name))
    assert len(malformed) > 1000
    code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True,"
            " text=True); sys.stdout.write(r.stderr[-20000:]); "
            "print('RC', r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    for b in range(FOLDERS):
        folder, out = tmp_path / f"batch{b}", tmp_path / f"batch{b}.json"
        r = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "qa", "check",
                            str(folder), "--json", str(out), "--jobs", "2"],
                           capture_output=True, text=True, timeout=600,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
        tail = r.stdout.strip().splitlines()[-1].split()
        rc, rss_mb = int(tail[1]), int(tail[2]) / 1024
        assert "Traceback" not in r.stdout, r.stdout[-3000:]
        assert rc in (0, 1, 2)
        assert rss_mb < DECODE_BUDGET_MB, rss_mb
        items = json.loads(out.read_text())["items"]
        assert sorted(i["path"] for i in items) == sorted(str(p) for p in folder.iterdir())
        for i in items:
            assert i["checks"], i
            if i["path"] in malformed:
                readable = i["checks"][0]
                assert readable["id"] == "readable" and readable["status"] == "fail", i["path"]
