"""Shared test fixtures: the reference data folder and helpers to write real audio files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = Path(os.environ.get("AUDIO_QA_REFERENCE", ROOT.parent / "shared" / "data" / "reference"))


@pytest.fixture(scope="session")
def reference() -> Path:
    """../shared/data/reference, or a skip that says why."""
    if not (REFERENCE / "expected_values.json").is_file():
        pytest.skip(f"reference data not found at {REFERENCE} (set AUDIO_QA_REFERENCE)")
    return REFERENCE


#: System tools some tests need, and how a contributor gets them. ``ffmpeg-libs`` is FFmpeg's
#: shared libraries, which TorchCodec (torchaudio >= 2.9 saving) loads.
TOOL_FIX = {"ffmpeg": "apt install ffmpeg", "sox": "apt install sox", "chromium": "apt install chromium",
            "ffmpeg-libs": "apt install ffmpeg (TorchCodec loads its shared libraries)"}


def missing_tools(*tools: str) -> list[str]:
    import ctypes.util
    import shutil

    return [t for t in tools
            if (ctypes.util.find_library("avutil") is None if t == "ffmpeg-libs" else shutil.which(t) is None)]


def needs(*tools: str):
    """Skip, naming the tool and the fix, when a system tool the test needs is absent; with the
    tools installed (CI installs them) the test runs."""
    gone = missing_tools(*tools)
    return pytest.mark.skipif(bool(gone), reason="needs " + "; ".join(f"{t} ({TOOL_FIX[t]})" for t in gone))


def reference_music_and_speech() -> list[Path]:
    """The real music and speech files (not the loudness test signals)."""
    if not REFERENCE.is_dir():
        return []
    folders = ["google-visqol", "espeak-ng", "ludlows-pesq", "loizou-noizeus-composite"]
    out: list[Path] = []
    for f in folders:
        out += sorted(p for p in (REFERENCE / f).rglob("*") if p.suffix in (".wav", ".flac"))
    return out


def reference_params() -> list:
    """:func:`reference_music_and_speech` for ``parametrize``: without the reference folder, one
    skipped case that says why (an empty parameter set would only say "got empty parameter set")."""
    files = reference_music_and_speech()
    if files:
        return files
    return [pytest.param(None, id="reference-absent", marks=pytest.mark.skip(
        reason=f"reference data not found at {REFERENCE} (set AUDIO_QA_REFERENCE)"))]


def sine(freq: float = 1000.0, sr: int = 48000, seconds: float = 1.0, amp: float = 1.0,
         channels: int = 1, phase: float = 0.0) -> np.ndarray:
    """A (channels, frames) float64 sine; an integer number of periods when freq divides sr."""
    t = np.arange(int(round(sr * seconds))) / sr
    x = amp * np.sin(2 * np.pi * freq * t + phase)
    return np.tile(x, (channels, 1))


def run_cli(*args: str, cwd: str | os.PathLike | None = None, timeout: float = 300,
            input: str | None = None, env: dict[str, str] | None = None):
    """Run ``python -m qa ARGS`` in a real subprocess (the package from this checkout);
    ``env`` entries are added to (or replace) the environment."""
    import subprocess
    import sys

    env = {**os.environ, **(env or {}),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, "-m", "qa", *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout, input=input,
    )


@pytest.fixture(scope="module")
def test_writers():
    """The test-only writers (test_stall, test_slow, ...) in this process's backend registry for
    one module: ``AUDIO_QA_TEST_BACKENDS=1`` set by the module comes too late when another test
    module imported qa.io first (child processes still see the variable)."""
    os.environ["AUDIO_QA_TEST_BACKENDS"] = "1"
    from qa.io import backends

    added = {k: v for k, v in backends.TEST_BACKENDS.items() if k not in backends.BACKENDS}
    backends.BACKENDS.update(added)
    yield
    for k in added:
        backends.BACKENDS.pop(k, None)
