"""Loading audio files so that a bad file is a clear message, never a hang or a traceback.

Checks run in order of cost: the path (missing, a directory, a FIFO that would block, empty,
unreadable), the WAV header against the bytes present (see :mod:`qa.wavheader`), libsndfile's
opinion of the format, the declared size against a memory ceiling, and finally a blockwise read
that stops at the data actually present, so a lying header cannot make us allocate or wait.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.audio import Audio, Provenance
from qa.wavheader import inspect_wav
from qa.errors import AudioQAError

#: Refuse files that would need more than this many samples (2**31 float32 = 8 GiB) in memory.
MAX_SAMPLES = 2**31
#: Sample rates outside this range are damaged headers, not audio (Hz).
MIN_RATE, MAX_RATE = 1000, 1_536_000
#: libsndfile's own channel limit.
MAX_CHANNELS = 1024
_BLOCK_FRAMES = 1 << 18

_FLOAT64_SUBTYPES = {"DOUBLE"}

#: Hints per problem kind: what the user can do about it.
HINTS = {
    "missing": "check the path; directories are walked, globs are expanded by the shell",
    "directory": "pass the audio files, or a directory to walk it",
    "not_regular": "pass a regular file; reading a FIFO or device could block forever",
    "permission": "make the file readable (chmod) or run as a user who can read it",
    "empty": "the writer produced nothing; check the save step (see `audio-qa doctor`)",
    "not_audio": "pass WAV, FLAC, MP3, OGG (Vorbis/Opus), AIFF or another format libsndfile reads",
    "unfinalized_header": "re-export the file; check that the writer closes it (see `audio-qa doctor`)",
    "truncated": "re-export or re-copy the file; the write or the transfer was interrupted",
    "corrupt": "re-export the file from the source",
    "no_frames": "the file holds a header and no audio; check the generation and save steps",
    "too_large": "split the file, or check its header: the declared size is implausible",
    "bad_header": "the header values are implausible; re-export the file",
}


class AudioReadError(AudioQAError):
    """A file that cannot be used as audio. ``kind`` is a key of :data:`HINTS`."""

    def __init__(self, path: str, kind: str, detail: str):
        self.path = path
        self.kind = kind
        self.detail = detail
        self.hint = HINTS.get(kind, "")
        super().__init__(f"{path}: {detail}")


@dataclass(frozen=True)
class FileInfo:
    """What libsndfile says a file is, before reading the samples."""

    format: str
    subtype: str
    sample_rate: int
    channels: int
    frames: int


def load_audio(path: str | os.PathLike) -> Audio:
    """Read ``path`` into an :class:`Audio`; raise :class:`AudioReadError` naming the problem."""
    p = str(path)
    size = _check_path(p)
    import soundfile as sf

    try:
        with open(p, "rb") as f:
            head = f.read(12)
            if head[:4] in (b"RIFF", b"RF64") and len(head) >= 12 and head[8:12] == b"WAVE":
                problem = inspect_wav(f, size)
                if problem is not None:
                    raise AudioReadError(p, problem.kind, problem.message)
    except PermissionError:
        raise AudioReadError(p, "permission", "permission denied") from None
    except OSError as e:
        raise AudioReadError(p, "corrupt", f"cannot be read: {e.strerror or e}") from None

    try:
        sfile = sf.SoundFile(p)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise AudioReadError(p, "not_audio", f"not a readable audio file ({_sf_reason(e)})") from None
    with sfile:
        info = FileInfo(sfile.format, sfile.subtype, sfile.samplerate, sfile.channels, sfile.frames)
        _check_info(p, info)
        samples = _read_blocks(p, sfile, info)
    subtype = info.subtype
    if samples.shape[1] == 0:
        raise AudioReadError(p, "no_frames", "contains 0 frames of audio")
    prov = Provenance(
        source=p,
        original_dtype=_dtype_of_subtype(subtype),
        original_layout="channels_last",  # every file format interleaves frames
        subtype=subtype,
        format=info.format,
        original_shape=(int(samples.shape[1]), int(samples.shape[0])),
    )
    return Audio(samples, int(info.sample_rate), prov)


def _check_path(p: str) -> int:
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise AudioReadError(p, "missing", "no such file") from None
    except PermissionError:
        raise AudioReadError(p, "permission", "permission denied") from None
    except OSError as e:
        raise AudioReadError(p, "missing", f"cannot be accessed: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioReadError(p, "directory", "is a directory, not an audio file")
    if not stat.S_ISREG(st.st_mode):
        raise AudioReadError(p, "not_regular", "is not a regular file (a FIFO, socket or device)")
    if st.st_size == 0:
        raise AudioReadError(p, "empty", "is empty (0 bytes)")
    if not os.access(p, os.R_OK):
        raise AudioReadError(p, "permission", "permission denied")
    return int(st.st_size)


def _check_info(p: str, info: FileInfo) -> None:
    if not (MIN_RATE <= info.sample_rate <= MAX_RATE):
        raise AudioReadError(
            p, "bad_header",
            f"declares a sample rate of {info.sample_rate} Hz, outside {MIN_RATE}-{MAX_RATE} Hz",
        )
    if not (1 <= info.channels <= MAX_CHANNELS):
        raise AudioReadError(p, "bad_header", f"declares {info.channels} channels")
    if info.frames < 0 or info.frames * info.channels > MAX_SAMPLES:
        raise AudioReadError(
            p, "too_large",
            f"declares {info.frames} frames x {info.channels} channels, more than the "
            f"{MAX_SAMPLES} samples this tool holds in memory",
        )
    if info.frames == 0:
        raise AudioReadError(p, "no_frames", "contains 0 frames of audio")


def _read_blocks(p: str, sfile, info: FileInfo) -> np.ndarray:
    """The samples as a (channels, frames) array: each block is decoded into one reused
    interleaved buffer and transposed into place, so the file is held once (no full-size
    interleaved copy) and each transpose stays in cache."""
    import soundfile as sf

    dtype = "float64" if info.subtype in _FLOAT64_SUBTYPES else "float32"
    out = np.empty((info.channels, info.frames), dtype=dtype)
    buf = np.empty((min(_BLOCK_FRAMES, info.frames), info.channels), dtype=dtype)
    got = 0
    try:
        while got < info.frames:
            n = min(_BLOCK_FRAMES, info.frames - got)
            block = sfile.read(n, dtype=dtype, always_2d=True, out=buf[:n])
            if block.shape[0] == 0:
                break
            out[:, got : got + block.shape[0]] = block.T
            got += block.shape[0]
    except (sf.LibsndfileError, RuntimeError, ValueError) as e:
        raise AudioReadError(
            p, "corrupt", f"decoding failed after {got} of {info.frames} frames ({_sf_reason(e)})"
        ) from None
    if got < info.frames and not _frames_are_estimate(info, got):
        raise AudioReadError(
            p, "truncated",
            f"the header declares {info.frames} frames but only {got} could be decoded: "
            "the file was cut short",
        )
    return out[:, :got] if got == info.frames else np.ascontiguousarray(out[:, :got])


def _frames_are_estimate(info: FileInfo, got: int) -> bool:
    """MP3 frame counts come from the stream, which libsndfile may over-estimate by the
    decoder's padding; a shortfall of up to two MPEG frames (2 x 1152) is not truncation."""
    return info.format == "MPEG" and info.frames - got <= 2 * 1152


def _sf_reason(e: Exception) -> str:
    msg = str(e).strip()
    # soundfile prefixes the path; keep the library's own words only.
    if ": " in msg:
        msg = msg.split(": ", 1)[-1] if "Error opening" in msg else msg
    return msg or type(e).__name__


def _dtype_of_subtype(subtype: str) -> str:
    return {
        "PCM_16": "int16", "PCM_24": "int24", "PCM_32": "int32", "PCM_U8": "uint8",
        "PCM_S8": "int8", "FLOAT": "float32", "DOUBLE": "float64",
    }.get(subtype, subtype.lower())


def iter_audio_paths(paths: list[str]) -> list[str]:
    """Expand directories (walked, sorted) into the audio files below them; files and missing
    paths are kept as given so that each still gets its own result."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(
                str(f) for f in Path(p).rglob("*")
                if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES
            )
            out.extend(found)
        else:
            out.append(p)
    return out


#: File endings picked up when a directory is walked.
AUDIO_SUFFIXES = frozenset(
    {".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aifc", ".au",
     ".caf", ".w64", ".rf64"}
)
