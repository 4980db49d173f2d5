"""The writers ``save_audio`` and the doctor can use, one function per library.

Each writer takes float64 samples in [-1, 1] shaped (channels, frames) and converts them to what
its API expects (soundfile: float frames-last plus a subtype; scipy: int16 for PCM, float32 for
FLOAT; torchaudio: a float32 tensor, never int16; the ffmpeg and sox tools: raw float32 on stdin).
``info()`` imports the library and reports versions; it raises ImportError / OSError / RuntimeError
when the backend cannot be used, with the library's own words.

Test-only writers (``test_stall``, ``test_slow``, ``test_enospc``, ``test_truncate``) live in
:data:`TEST_BACKENDS`: a writer that blocks forever, one that keeps writing slowly, one that fails
with ENOSPC half way and one that returns normally after losing the last 40 % of the data (a disk
filling up or a killed writer, which cannot be made to happen on demand). They are found by name
when the environment variable ``AUDIO_QA_TEST_BACKENDS=1`` is set (a child process inherits it),
or when the caller asks for them explicitly (``get_backend(name, allow_test=True)``, which
``save_audio(..., allow_test_backends=True)`` passes on to its child process).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from qa.io.formats import Format
from qa.io.prepare import to_int16


@dataclass(frozen=True)
class Backend:
    name: str
    write: Callable[[str, np.ndarray, int, Format], None] | None
    info: Callable[[], dict[str, Any]]
    formats: tuple[str, ...]  # Format.container values it can write
    install_hint: str


# -- soundfile ----------------------------------------------------------------------------------
def _sf_info() -> dict[str, Any]:
    import soundfile as sf

    fmts = sf.available_formats()
    return {
        "version": sf.__version__,
        "libsndfile": sf.__libsndfile_version__,
        "formats": {f: sorted(sf.available_subtypes(f)) for f in ("WAV", "FLAC", "MP3", "OGG") if f in fmts},
    }


def _sf_write(path: str, x: np.ndarray, sr: int, fmt: Format) -> None:
    import soundfile as sf

    sf.write(path, x.T, sr, format=fmt.container, subtype=fmt.subtype)


# -- scipy --------------------------------------------------------------------------------------
def _scipy_info() -> dict[str, Any]:
    import scipy
    import scipy.io.wavfile  # noqa: F401

    return {"version": scipy.__version__}


def _scipy_write(path: str, x: np.ndarray, sr: int, fmt: Format) -> None:
    from scipy.io import wavfile

    if fmt.subtype == "PCM_16":
        data = to_int16(x)
    elif fmt.subtype == "FLOAT":
        data = x.astype(np.float32)
    else:
        raise ValueError(f"scipy.io.wavfile writes PCM_16 or FLOAT WAV here, not {fmt.subtype}")
    wavfile.write(path, sr, data.T if data.shape[0] > 1 else data[0])


# -- torchaudio ---------------------------------------------------------------------------------
def _torchaudio_info() -> dict[str, Any]:
    import torch
    import torchaudio

    out: dict[str, Any] = {"version": torchaudio.__version__, "torch": torch.__version__}
    out["torch_build"] = "cuda " + torch.version.cuda if torch.version.cuda else "cpu-only"
    cuda = torch.cuda.is_available()
    out["device"] = torch.cuda.get_device_name(0) if cuda else "cpu"
    out["bf16"] = bool(torch.cuda.is_bf16_supported()) if cuda else True  # CPU kernels exist
    major_minor = tuple(int(p) for p in torchaudio.__version__.split("+")[0].split(".")[:2])
    if hasattr(torchaudio, "list_audio_backends") and major_minor < (2, 9):
        out["api"] = "dispatcher"
        out["audio_backends"] = list(torchaudio.list_audio_backends())
        return out
    out["api"] = "torchcodec"
    import torchcodec  # ImportError / RuntimeError "Could not load libtorchcodec" land here
    from torchcodec.encoders import AudioEncoder  # noqa: F401

    out["torchcodec"] = torchcodec.__version__
    out["ffmpeg_major"] = getattr(torchcodec, "ffmpeg_major_version", None)
    out["torchcodec_core"] = str(getattr(torchcodec, "core_library_path", "") or "")
    return out


def _torchaudio_write(path: str, x: np.ndarray, sr: int, fmt: Format) -> None:
    import torch
    import torchaudio

    torchaudio.save(path, torch.from_numpy(x.astype(np.float32)), sr, channels_first=True)


# -- command-line tools -------------------------------------------------------------------------
_FFMPEG_CODEC = {"PCM_16": ["pcm_s16le"], "PCM_24": ["pcm_s24le"], "PCM_32": ["pcm_s32le"],
                 "FLOAT": ["pcm_f32le"], "MPEG_LAYER_III": ["libmp3lame"],
                 "VORBIS": ["libvorbis"], "OPUS": ["libopus"]}


def _tool_info(tool: str, flag: str) -> dict[str, Any]:
    exe = shutil.which(tool)
    if exe is None:
        raise FileNotFoundError(f"{tool} not found on PATH")
    r = subprocess.run([exe, flag], capture_output=True, text=True, timeout=10)
    first = (r.stdout or r.stderr).strip().splitlines()
    import re

    m = re.search(r"version\s+(\S+)|\bv(\d[\w.]*)", first[0] if first else "")
    return {"path": exe, "version": (m.group(1) or m.group(2)) if m else "unknown",
            "banner": first[0] if first else ""}


def _ffmpeg_write(path: str, x: np.ndarray, sr: int, fmt: Format) -> None:
    codec = list(_FFMPEG_CODEC[fmt.subtype])
    if fmt.container == "FLAC":
        codec = ["flac", "-sample_fmt", "s32" if fmt.subtype == "PCM_24" else "s16"]
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "f32le",
           "-ar", str(sr), "-ac", str(x.shape[0]), "-i", "pipe:0", "-c:a", *codec, path]
    _run_tool(cmd, x)


def _sox_write(path: str, x: np.ndarray, sr: int, fmt: Format) -> None:
    enc = {"PCM_16": ["-b", "16", "-e", "signed-integer"], "PCM_24": ["-b", "24", "-e", "signed-integer"],
           "FLOAT": ["-b", "32", "-e", "floating-point"]}.get(fmt.subtype, [])
    cmd = ["sox", "-q", "-t", "raw", "-e", "floating-point", "-b", "32", "-r", str(sr), "-c",
           str(x.shape[0]), "-", *enc, path]
    _run_tool(cmd, x)


def _run_tool(cmd: list[str], x: np.ndarray) -> None:
    raw = np.ascontiguousarray(x.T, dtype="<f4").tobytes()
    r = subprocess.run(cmd, input=raw, capture_output=True)
    if r.returncode != 0:
        msg = r.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"{cmd[0]} exited with status {r.returncode}: {msg[-1] if msg else 'no message'}")


def _pyav_info() -> dict[str, Any]:
    import av

    return {"version": av.__version__}


# -- test-only writers --------------------------------------------------------------------------
def _test_info() -> dict[str, Any]:
    return {"version": "test"}


def _test_stall(path: str, x: np.ndarray, sr: int, fmt: Format) -> None:
    with open(path, "wb") as f:
        f.write(b"RIFF" + bytes(4092))
        f.flush()
        threading.Event().wait()  # blocks like a wedged filesystem call


def _test_slow(path: str, x: np.ndarray, sr: int, fmt: Format) -> None:
    with open(path, "wb") as f:
        while True:
            f.write(bytes(4096))
            f.flush()
            time.sleep(0.05)


def _test_enospc(path: str, x: np.ndarray, sr: int, fmt: Format) -> None:
    """Writes the first half of the PCM payload, then fails the way a full disk does."""
    payload = to_int16(x).T.tobytes()
    with open(path, "wb") as f:
        f.write(payload[: len(payload) // 2])
        f.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)


def _test_truncate(path: str, x: np.ndarray, sr: int, fmt: Format) -> None:
    """Writes a complete file, then loses the last 40 % of the bytes after the 44-byte WAV
    header and returns without an error: the header and the data disagree."""
    _sf_write(path, x, sr, fmt)
    size = os.path.getsize(path)
    os.truncate(path, 44 + (size - 44) * 6 // 10)


_ALL = ("WAV", "FLAC", "MP3", "OGG")
BACKENDS: dict[str, Backend] = {
    "soundfile": Backend("soundfile", _sf_write, _sf_info, _ALL, "pip install soundfile"),
    "scipy": Backend("scipy", _scipy_write, _scipy_info, ("WAV",), "pip install scipy"),
    "torchaudio": Backend("torchaudio", _torchaudio_write, _torchaudio_info, _ALL,
                          "pip install torch torchaudio torchcodec (matching releases) and a shared FFmpeg"),
    "ffmpeg": Backend("ffmpeg", _ffmpeg_write, lambda: _tool_info("ffmpeg", "-version"), _ALL,
                      "apt install ffmpeg (or conda install -c conda-forge ffmpeg)"),
    "sox": Backend("sox", _sox_write, lambda: _tool_info("sox", "--version"), ("WAV", "FLAC"),
                   "apt install sox"),
    "pyav": Backend("pyav", None, _pyav_info, (), "pip install av"),
}
TEST_BACKENDS: dict[str, Backend] = {
    name: Backend(name, fn, _test_info, _ALL, "test backend")
    for name, fn in (("test_stall", _test_stall), ("test_slow", _test_slow), ("test_enospc", _test_enospc),
                     ("test_truncate", _test_truncate))
}
if os.environ.get("AUDIO_QA_TEST_BACKENDS") == "1":
    BACKENDS.update(TEST_BACKENDS)

#: What ``save_audio`` tries, in order, when the caller names no backends.
DEFAULT_SAVE_BACKENDS = ("soundfile", "scipy", "torchaudio")


def get_backend(name: str, *, allow_test: bool = False) -> Backend:
    """The backend called ``name``; the test-only writers only with ``allow_test`` (or the
    ``AUDIO_QA_TEST_BACKENDS=1`` environment variable). A name ``module:function`` is a writer
    of the caller's own, imported by that path (so a timed save's child process finds it too)
    and called like the writers here: ``function(path, samples, sample_rate, format)``."""
    if name in BACKENDS:
        return BACKENDS[name]
    if allow_test and name in TEST_BACKENDS:
        return TEST_BACKENDS[name]
    if ":" in name:
        return _own_writer(name)
    raise ValueError(f"unknown audio backend {name!r}; known: {', '.join(BACKENDS)}, or module:function")


def _own_writer(name: str) -> Backend:
    import importlib

    module, _, attr = name.partition(":")
    try:
        write = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"writer {name!r} cannot be imported ({e}); name it as module:function "
                         "with the module on sys.path") from None
    return Backend(name, write, lambda: {"version": module}, _ALL, f"fix the writer {name}")
