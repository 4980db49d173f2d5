"""Loading audio files so that a bad file is a clear message, never a hang or a traceback.

Checks run in order of cost: the path (missing, a directory, a FIFO that would block, empty,
unreadable), the WAV header against the bytes present (see :mod:`qa.wavheader`), libsndfile's
opinion of the format, the declared size against a memory ceiling, and finally a blockwise read
that stops at the data actually present, so a lying header cannot make us allocate or wait.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np

from qa.atomic import is_temporary
from qa.audio import Audio, Provenance
from qa.results import shown
from qa.containers import inspect_container
from qa.wavheader import inspect_wav
from qa.errors import AudioQAError

#: Refuse files that declare more than this many samples (2**31 float32 = 8 GiB).
MAX_SAMPLES = 2**31
#: Default decode budget (MiB of decoded samples held at once; see :func:`decode_budget`). A
#: file that fits is read whole; ``check`` reads a longer one in segments (:mod:`qa.longform`),
#: and the commands that need the whole signal refuse it.
DECODE_BUDGET_MB = 512
#: Default longest file checked (seconds, 4 hours): a longer declared length is refused before
#: anything is decoded (a FLAC of constant samples can declare days in a few kilobytes).
MAX_DURATION_S = 4 * 3600.0
#: Headerless files are read only with a format the user names (``--raw-format``); these
#: endings are then walked in folders too.
RAW_SUFFIXES = frozenset({".raw", ".pcm"})
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
    "bad_link": "fix or remove the symbolic link; it does not lead to a regular file",
    "bad_path": "move or rename the file to a shorter path",
    "permission": "make the file readable (chmod) or run as a user who can read it",
    "empty": "the writer produced nothing; check the save step (see `audio-qa doctor`)",
    "not_audio": "pass WAV, FLAC, MP3, OGG (Vorbis/Opus), AIFF or another format libsndfile reads",
    "unfinalized_header": "re-export the file; check that the writer closes it (see `audio-qa doctor`)",
    "truncated": "re-export or re-copy the file; the write or the transfer was interrupted",
    "corrupt": "re-export the file from the source",
    "no_frames": "the file holds a header and no audio; check the generation and save steps",
    "too_large": "split the file, or check its header: the declared size is implausible",
    "bad_header": "the header values are implausible; re-export the file",
    "raw": "name the format: --raw-format SUBTYPE:RATE:CHANNELS (e.g. PCM_16:48000:2), or "
           "raw_format in the config",
}


@dataclass(frozen=True)
class RawFormat:
    """The layout of headerless samples, as the user names it: libsndfile subtype, rate (Hz),
    channels and byte order ("FILE" = little-endian)."""

    subtype: str
    sample_rate: int
    channels: int
    endian: str = "FILE"

    @classmethod
    def parse(cls, spec: str) -> "RawFormat":
        """``SUBTYPE:RATE:CHANNELS[:ENDIAN]``, e.g. ``PCM_16:48000:2`` or ``FLOAT:44100:1:BIG``."""
        import soundfile as sf

        parts = str(spec).strip().split(":")
        fix = ("expected SUBTYPE:RATE:CHANNELS[:ENDIAN], e.g. PCM_16:48000:2 (subtypes: "
               "PCM_16, PCM_24, PCM_32, PCM_U8, PCM_S8, FLOAT, DOUBLE, ULAW, ALAW; endian "
               "LITTLE or BIG)")
        if len(parts) not in (3, 4):
            raise ValueError(f"raw format {spec!r}: {fix}")
        subtype = parts[0].upper()
        endian = parts[3].upper() if len(parts) == 4 else "FILE"
        try:
            rate, channels = int(parts[1]), int(parts[2])
        except ValueError:
            raise ValueError(f"raw format {spec!r}: rate and channels must be integers; {fix}") from None
        if not sf.check_format("RAW", subtype) or subtype not in sf.available_subtypes("RAW"):
            raise ValueError(f"raw format {spec!r}: libsndfile has no raw subtype {subtype!r}; {fix}")
        if not (MIN_RATE <= rate <= MAX_RATE) or not (1 <= channels <= MAX_CHANNELS):
            raise ValueError(f"raw format {spec!r}: rate {MIN_RATE}-{MAX_RATE} Hz and 1-"
                             f"{MAX_CHANNELS} channels; {fix}")
        if endian not in ("FILE", "LITTLE", "BIG"):
            raise ValueError(f"raw format {spec!r}: endian {endian!r}; {fix}")
        return cls(subtype, rate, channels, endian)


@dataclass(frozen=True)
class ReadOptions:
    """Limits and choices of reading one file (config keys ``decode_budget_mb``,
    ``max_duration_s``, ``raw_format``; ``AUDIO_QA_DECODE_BUDGET_MB`` overrides the budget)."""

    decode_budget_mb: float | None = None
    max_duration_s: float = MAX_DURATION_S
    raw_format: RawFormat | None = None

    @property
    def budget_bytes(self) -> int:
        return decode_budget(self.decode_budget_mb)


class AudioReadError(AudioQAError):
    """A file that cannot be used as audio. ``kind`` is a key of :data:`HINTS`."""

    def __init__(self, path: str, kind: str, detail: str):
        self.path = path
        self.kind = kind
        self.detail = detail
        self.hint = HINTS.get(kind, "")
        super().__init__(f"{shown(path)}: {detail}")


@dataclass(frozen=True)
class FileInfo:
    """What libsndfile says a file is, before reading the samples."""

    format: str
    subtype: str
    sample_rate: int
    channels: int
    frames: int


def load_audio(path: str | os.PathLike, options: ReadOptions | None = None) -> Audio:
    """Read ``path`` into an :class:`Audio`; raise :class:`AudioReadError` naming the problem.
    A file whose samples exceed the decode budget is refused (``too_large``); ``check`` reads
    such a file in segments instead (:func:`open_audio`)."""
    with open_audio(path, options) as src:
        src.require_in_budget()
        return src.read_all()


@contextmanager
def open_audio(path: str | os.PathLike, options: ReadOptions | None = None):
    """The checked, opened file ``path`` as an :class:`AudioSource` (read whole or in pieces):
    path, container structure and declared size are verified before anything is decoded."""
    opts = options or ReadOptions()
    p = str(path)
    size = _check_path(p)
    is_raw = os.path.splitext(p)[1].lower() in RAW_SUFFIXES
    if is_raw and opts.raw_format is None:
        raise AudioReadError(p, "raw", "headerless raw samples: the file does not say their "
                             "format, rate or channels")
    raw = opts.raw_format if is_raw else None
    if raw is None:
        _check_structure(p, size)
    with _open_soundfile(p, raw) as sfile:
        info = FileInfo(sfile.format, sfile.subtype, sfile.samplerate, sfile.channels, sfile.frames)
        _check_info(p, info, size, opts, raw is not None)
        yield AudioSource(p, size, info, sfile, opts)


def _check_structure(p: str, size: int) -> None:
    try:
        with open(p, "rb") as f:
            head = f.read(12)
            if head[:4] in (b"RIFF", b"RF64") and len(head) >= 12 and head[8:12] == b"WAVE":
                problem = inspect_wav(f, size)
            else:
                problem = inspect_container(f, size)
            if problem is not None:
                raise AudioReadError(p, problem.kind, problem.message)
    except PermissionError:
        raise AudioReadError(p, "permission", "permission denied") from None
    except OSError as e:
        raise AudioReadError(p, "corrupt", f"cannot be read: {e.strerror or e}") from None


class AudioSource:
    """An opened audio file whose header passed every check: ``info``, ``provenance``, and its
    samples read whole (:meth:`read_all`) or in order, piece by piece (:meth:`pieces`)."""

    def __init__(self, path: str, size: int, info: FileInfo, sfile, options: ReadOptions):
        self.path, self.size, self.info, self._sf, self.options = path, size, info, sfile, options
        self.dtype = _dtype_of(info)
        self.provenance = Provenance(
            source=path, original_dtype=_dtype_of_subtype(info.subtype),
            original_layout="channels_last",  # every file format interleaves frames
            subtype=info.subtype, format=info.format,
            original_shape=(int(info.frames), int(info.channels)))

    @property
    def decoded_bytes(self) -> int:
        """Bytes of the whole decoded signal (float32, or float64 for DOUBLE files)."""
        return self.info.frames * self.info.channels * (8 if self.dtype == "float64" else 4)

    @property
    def fits_budget(self) -> bool:
        return self.decoded_bytes <= self.options.budget_bytes

    def require_in_budget(self) -> None:
        if not self.fits_budget:
            info, budget = self.info, self.options.budget_bytes
            raise AudioReadError(
                self.path, "too_large",
                f"declares {info.frames} frames x {info.channels} channels "
                f"({info.frames / info.sample_rate:.0f} s from {self.size} bytes): decoding needs "
                f"{self.decoded_bytes / 2**20:.4g} MiB, more than the decode budget of "
                f"{budget / 2**20:g} MiB (decode_budget_mb in the config or "
                "AUDIO_QA_DECODE_BUDGET_MB raises it; `audio-qa check` reads such a file in segments)")

    def read_all(self) -> Audio:
        samples = _read_blocks(self.path, self._sf, self.info)
        if samples.shape[1] == 0:
            raise AudioReadError(self.path, "no_frames", "contains 0 frames of audio")
        prov = replace(self.provenance, original_shape=(int(samples.shape[1]), int(samples.shape[0])))
        return Audio(samples, int(self.info.sample_rate), prov)

    def pieces(self, frames: int):
        """The samples in order as (channels, k) arrays of ``frames`` frames (the last one
        shorter); a file that ends before its declared length raises ``truncated`` after its
        last piece, a decoding error ``corrupt``."""
        self._sf.seek(0)
        yield from _read_pieces(self.path, self._sf, self.info, frames)


@contextmanager
def _open_soundfile(p: str, raw: RawFormat | None = None):
    """libsndfile's view of ``p``, opened through a descriptor of our own: no limit of 1,024
    bytes on the path, any bytes in the name, and the file that was checked is the one read.
    ``raw``: read the file as headerless samples of that format."""
    import soundfile as sf

    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise _path_error(p, e) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for a FIFO since it was checked
            raise AudioReadError(p, "not_regular", "is no longer a regular file")
        try:
            if raw is None:
                sfile = sf.SoundFile(fd, closefd=False)
            else:
                sfile = sf.SoundFile(fd, closefd=False, format="RAW", subtype=raw.subtype,
                                     samplerate=raw.sample_rate, channels=raw.channels,
                                     endian=raw.endian)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
            raise AudioReadError(p, "not_audio", f"not a readable audio file ({_sf_reason(e)})") from None
        with sfile:
            yield sfile
    finally:
        os.close(fd)


def _check_path(p: str) -> int:
    """The size of regular file ``p``; every other kind of entry is refused by its name, and
    a symbolic link only followed to a regular file (never to a device, FIFO or socket)."""
    try:
        lst = os.lstat(p)
    except FileNotFoundError:
        raise AudioReadError(p, "missing", "no such file") from None
    except PermissionError:
        raise AudioReadError(p, "permission", "permission denied") from None
    except OSError as e:
        raise _path_error(p, e) from None
    st = lst
    if stat.S_ISLNK(lst.st_mode):
        try:
            st = os.stat(p)
        except FileNotFoundError:
            raise AudioReadError(p, "bad_link", f"dangling symlink (to {_link_target(p)}, which "
                                 "does not exist)") from None
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise AudioReadError(p, "bad_link", "symlink loop: the link leads back to "
                                     "itself") from None
            raise _path_error(p, e) from None
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            raise AudioReadError(p, "bad_link", f"a symlink to {_link_target(p)}, "
                                 f"{_kind_of(st.st_mode)}: not followed")
    if stat.S_ISDIR(st.st_mode):
        if not os.access(p, os.R_OK | os.X_OK):
            raise AudioReadError(p, "permission", "a folder that cannot be read (permission "
                                 "denied): the files in it were not checked")
        if os.path.splitext(p)[1].lower() in AUDIO_SUFFIXES:
            raise AudioReadError(p, "directory", "a folder named like audio, not an audio file")
        raise AudioReadError(p, "directory", "is a directory, not an audio file")
    if not stat.S_ISREG(st.st_mode):
        raise AudioReadError(p, "not_regular", f"{_kind_of(st.st_mode)} skipped: not a regular file")
    if st.st_size == 0:
        raise AudioReadError(p, "empty", "is empty (0 bytes)")
    if not os.access(p, os.R_OK):
        raise AudioReadError(p, "permission", "permission denied")
    return int(st.st_size)


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "not a regular file"


def _link_target(p: str) -> str:
    try:
        return shown(os.readlink(p))
    except OSError:
        return "an unreadable target"


def _path_error(p: str, e: OSError) -> AudioReadError:
    if e.errno == errno.ENAMETOOLONG:
        return AudioReadError(p, "bad_path", f"the path ({len(os.fsencode(p))} bytes) or one of "
                              "its names is longer than the file system allows")
    if e.errno == errno.ELOOP:
        return AudioReadError(p, "bad_link", "symlink loop in the path")
    return AudioReadError(p, "missing", f"cannot be accessed: {e.strerror or e}")


def decode_budget(configured_mb: float | None = None) -> int:
    """Bytes of decoded samples one file may hold at once: ``AUDIO_QA_DECODE_BUDGET_MB`` (MiB)
    if set, else ``configured_mb`` (the config's ``decode_budget_mb``), else
    :data:`DECODE_BUDGET_MB`. Checked against the declared length before anything is allocated."""
    raw = os.environ.get("AUDIO_QA_DECODE_BUDGET_MB", "").strip()
    if not raw:
        return int((configured_mb if configured_mb is not None else DECODE_BUDGET_MB) * 2**20)
    try:
        mb = float(raw)
    except ValueError:
        mb = float("nan")
    if not (mb > 0 and math.isfinite(mb)):  # a typo must not silently mean the default
        from qa.config import ConfigError

        raise ConfigError(f"AUDIO_QA_DECODE_BUDGET_MB={raw!r}: expected a positive number of MiB "
                          f"(default {DECODE_BUDGET_MB:g}); fix or unset it")
    return int(mb * 2**20)


def _check_info(p: str, info: FileInfo, size: int, opts: ReadOptions, raw: bool) -> None:
    if info.format == "RAW" and not raw:
        raise AudioReadError(p, "not_audio", "has no audio header: libsndfile would read its bytes "
                             "as headerless raw samples of a guessed format (to read it as raw "
                             "samples, name it .raw and pass --raw-format)")
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
            f"{MAX_SAMPLES} samples this tool reads",
        )
    if info.frames == 0:
        raise AudioReadError(p, "no_frames", "contains 0 frames of audio")
    seconds = info.frames / info.sample_rate
    if seconds > opts.max_duration_s:
        raise AudioReadError(
            p, "too_large",
            f"declares {info.frames} frames at {info.sample_rate} Hz ({seconds:.0f} s from {size} "
            f"bytes), longer than the {opts.max_duration_s:.0f} s this tool checks "
            "(max_duration_s in the config raises it)")


def _read_blocks(p: str, sfile, info: FileInfo) -> np.ndarray:
    """The samples as a (channels, frames) array: each block is decoded into one reused
    interleaved buffer and transposed into place, so the file is held once (no full-size
    interleaved copy) and each transpose stays in cache."""
    out = np.empty((info.channels, info.frames), dtype=_dtype_of(info))
    got = 0
    for piece in _read_pieces(p, sfile, info, _BLOCK_FRAMES):
        out[:, got : got + piece.shape[1]] = piece
        got += piece.shape[1]
    return out[:, :got] if got == info.frames else np.ascontiguousarray(out[:, :got])


def _dtype_of(info: FileInfo) -> str:
    return "float64" if info.subtype in _FLOAT64_SUBTYPES else "float32"


def _read_pieces(p: str, sfile, info: FileInfo, frames: int):
    """The samples in order as (channels, k <= frames) views of one reused interleaved buffer,
    each valid until the next is asked for. Reading stops at the data actually present; a
    shortfall against the declared length is ``truncated``, a decoder error ``corrupt``."""
    import soundfile as sf

    buf = np.empty((min(frames, info.frames), info.channels), dtype=_dtype_of(info))
    got = 0
    try:
        while got < info.frames:
            n = min(frames, info.frames - got)
            block = sfile.read(n, dtype=buf.dtype.name, always_2d=True, out=buf[:n])
            if block.shape[0] == 0:
                break
            got += block.shape[0]
            yield block.T
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


def iter_audio_paths(paths: list[str], *, raw: bool = False) -> list[str]:
    """Expand directories (walked, sorted) into the entries below them named like audio; files
    and missing paths are kept as given so that each still gets its own result.

    The walk is iterative (a folder 1,000 levels deep is no recursion) and never follows a
    symbolic link to a folder (no loop). Every entry named like audio is kept whatever it is (a
    FIFO, a socket, a folder, a dangling link), and so is a folder that cannot be listed, so the
    loader gives each its ``readable`` item instead of it vanishing from the run. ``raw``: walk
    headerless ``.raw`` / ``.pcm`` files too (when the user named their format)."""
    out: list[str] = []
    suffixes = AUDIO_SUFFIXES | RAW_SUFFIXES if raw else AUDIO_SUFFIXES
    for p in paths:
        if os.path.isdir(p):
            out.extend(sorted(_walk(p, suffixes)))
        else:
            out.append(p)
    return out


def _walk(top: str, suffixes: frozenset[str]) -> list[str]:
    found: list[str] = []
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            found.append(folder)  # its item says why it cannot be read
            continue
        for e in entries:
            try:
                is_dir = e.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                stack.append(e.path)
            if os.path.splitext(e.name)[1].lower() in suffixes and not is_temporary(e.name):
                found.append(e.path)  # an unfinished write's temporary is not an input
    return found


#: File endings picked up when a directory is walked.
AUDIO_SUFFIXES = frozenset(
    {".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aifc", ".au",
     ".caf", ".w64", ".rf64"}
)
