"""A results dict with one of each report section, pointing at real audio written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from tests.conftest import sine

#: The "/" in "</script>" makes this a folder "<script>alert(1)<" holding "script>.wav" on POSIX.
HOSTILE_NAME = "<script>alert(1)</script>.wav"
LYRICS = '<b>la la</b> <img src=x onerror="alert(2)"> & <script>alert(3)</script>'


def check(cid, status, message, value=None, threshold=None, unit=None, hint=None):
    d = {"id": cid, "status": status, "value": value, "threshold": threshold, "unit": unit,
         "message": message}
    if hint:
        d["hint"] = hint
    return d


def stage(index, name, peak, rms, nonfinite=0, status="pass", checks=()):
    return {"name": name, "index": index, "shape": [1, 2, 96000], "dtype": "float32", "device": "cpu",
            "layout": "channels_first", "peak": peak, "rms": rms, "dc": 0.0, "nonfinite": nonfinite,
            "seconds": 0.25, "memory_bytes": 768000, "status": status, "checks": list(checks)}


def full_results(root: Path) -> dict:
    """Every section: a file (hostile name, clipped), a run with a dead stage and markup lyrics,
    a comparison, four round trips, two backends and a gate."""
    root.mkdir(parents=True, exist_ok=True)
    x = 0.5 * sine(440.0, 48000, 2.0, channels=2)
    x[0, 24000:24100] = 1.0  # a clipped run in the left channel
    (root / HOSTILE_NAME).parent.mkdir(parents=True, exist_ok=True)
    sf.write(root / HOSTILE_NAME, x.T, 48000, subtype="PCM_16")
    sf.write(root / "run_out.wav", np.zeros((48000, 2)), 48000, subtype="PCM_16")
    sf.write(root / "deg.wav", 0.25 * sine(1000.0, 16000, 1.0).T, 16000, subtype="PCM_16")
    file_item = {
        "kind": "file", "path": HOSTILE_NAME, "status": "fail", "sample_rate": 48000, "channels": 2,
        "frames": 96000, "metrics": {"sample_peak_dbfs": 0.0, "rms_dbfs": -9.03, "pesq_wb": None},
        "checks": [check("readable", "pass", "WAV PCM_16"),
                   check("clipping", "fail", "0.1% of samples sit at full scale (longest run 100 samples)",
                         0.00104, 0.001, "fraction", "reduce gain before the int16 conversion"),
                   check("dc_offset", "warn", "DC <offset> high", 0.012, 0.01, "full_scale")],
        "notes": ["pesq_wb: n/a, PESQ is a speech metric and the reference is music"],
    }
    run_item = {
        "kind": "run", "path": "run_out.wav", "status": "fail", "sample_rate": 48000, "channels": 2,
        "frames": 48000, "metrics": {"rms_dbfs": None}, "lyrics": LYRICS,
        "checks": [check("stage_not_silent", "fail", "vae_decode output is silent", 0.0, 1e-3)],
        "stages": [stage(0, "text_encode", 3.1, 0.9), stage(1, "diffusion", 2.4, 0.7),
                   stage(2, "vae_decode", 0.0, 0.0, status="fail",
                         checks=[check("stage_not_silent", "fail", "vae_decode output is all zeros")]),
                   stage(3, "save", 0.0, 0.0, status="fail")],
        "first_bad_stage": "vae_decode",
        "injected_fault": {"name": "zero_vae", "stage": "vae_decode"},
        "notes": ["rms_dbfs: n/a, the output is digital silence"],
    }
    comparison = {"kind": "comparison", "path": "deg.wav", "status": "pass", "sample_rate": 16000,
                  "channels": 1, "frames": 16000, "metrics": {"snr_db": 31.5, "delay_samples": 0},
                  "checks": [], "notes": []}
    rts = [{"kind": "roundtrip", "path": "song.wav", "codec": c, "status": st,
            "metrics": {"snr_db": snr, "stoi": stoi}, "checks": [check("snr", st, f"SNR {snr}")],
            "notes": [] if snr is not None else ["snr_db: identical: lossless"]}
           for c, snr, stoi, st in [("mp3:64", 12.0, 0.91, "warn"), ("mp3:128", 18.5, 0.97, "pass"),
                                    ("opus:64", 9.25, 0.93, "pass"), ("flac", None, 1.0, "pass")]]
    backends = [
        {"kind": "backend", "path": "soundfile", "status": "pass", "metrics": {"save_seconds": 0.01},
         "checks": [check("backend_available", "pass", "libsndfile 1.2.2"),
                    check("save_roundtrip", "pass", "bit exact")], "notes": []},
        {"kind": "backend", "path": "torchaudio", "status": "fail", "metrics": {"save_seconds": None},
         "checks": [check("backend_available", "pass", "torchcodec 0.11"),
                    check("save_timeout", "fail", "save did not return in 10 s", 10.0, 10.0, "s")],
         "notes": []},
    ]
    gate = {"baseline": "baseline.json", "status": "fail", "rows": [
        {"item": HOSTILE_NAME, "metric": "rms_dbfs", "baseline": -12.0, "current": -9.03,
         "delta": 2.97, "verdict": "fail"},
        {"item": "song.wav", "metric": "snr_db", "baseline": 18.0, "current": 18.5, "delta": 0.5,
         "verdict": "pass"}]}
    return {"schema": "audio-qa.report/1", "tool": {"name": "audio-qa", "version": "0.1.0"},
            "status": "fail", "environment": {"python": "3.11.2", "numpy": "1.26"},
            "items": [file_item, run_item, comparison, *rts, *backends], "gate": gate}
