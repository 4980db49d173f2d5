"""``save_audio``: a save that cannot lose data, for pipelines.

The samples are validated first (finite, channels-first, within full scale). Each backend then
writes a temporary file next to the target (same directory, so the rename is atomic on one
filesystem), which is fsynced, read back and compared with the input, and only then renamed over
the target. A backend that fails, writes the wrong subtype, crashes or passes ``timeout_s`` is
recorded and the next one is tried. A failed attempt never leaves its temporary file behind and
never touches an existing target.
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from qa.io.backends import DEFAULT_SAVE_BACKENDS, Backend, get_backend
from qa.io.child import Child, ChildDied, ChildHung, Hang, describe_error
from qa.io.formats import Format, format_for_path
from qa.io.prepare import as_audio, validate
from qa.io.verify import verify_file
from qa.atomic import temporary_name
from qa.errors import AudioQAError

#: Seconds the timed save's child process may take to start (Python, numpy, the samples) before
#: the writer's own ``timeout_s`` starts counting.
STARTUP_TIMEOUT_S = 60.0
#: Errors of the directory itself: no other backend can do better, so the save stops.
_DIR_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR}


@dataclass(frozen=True)
class SaveAttempt:
    """One backend's try. ``outcome``: "ok", "failed", "wrong_subtype", "hung", "unsupported"
    (the backend cannot write this format) or "unavailable" (it cannot be imported)."""

    backend: str
    outcome: str
    error: str | None = None
    seconds: float = 0.0
    subtype: str | None = None
    hang: Hang | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SaveResult:
    path: str
    backend: str
    subtype: str
    seconds: float
    attempts: tuple[SaveAttempt, ...]


class SaveError(AudioQAError):
    """Every backend failed (or the directory cannot be written); ``attempts`` says how."""

    def __init__(self, path: str, attempts: Sequence[SaveAttempt], reason: str | None = None):
        self.path = path
        self.attempts = tuple(attempts)
        self.reason = reason
        tries = "; ".join(f"{a.backend}: {a.outcome}" + (f" ({a.error})" if a.error else "")
                          for a in self.attempts)
        head = reason or "every backend failed"
        super().__init__(f"could not save {path}: {head}" + (f" [{tries}]" if tries else "")
                         + ". Run `audio-qa doctor --output-dir DIR` to diagnose the backends and the directory")


def save_audio(samples: Any, path: str | os.PathLike, sample_rate: int, *, subtype: str = "PCM_16",
               backends: Sequence[str] | None = None, timeout_s: float | None = None,
               verify: bool = True, allow_test_backends: bool = False) -> SaveResult:
    """Save ``samples`` (Audio, numpy array or torch tensor, channels-first) to ``path``.

    The suffix picks the format (.wav .flac .mp3 .ogg .opus); ``subtype`` applies to WAV/FLAC.
    ``backends`` is the order to try (default soundfile, scipy, torchaudio; a ``module:function``
    name is a writer of your own, see :func:`qa.io.backends.get_backend`); with ``timeout_s``
    each attempt runs in a child process that is killed after that many seconds.
    ``allow_test_backends`` lets ``backends`` name the test-only writers of
    :data:`qa.io.backends.TEST_BACKENDS` (fault injection) without an environment variable.
    Raises :class:`qa.io.prepare.SampleError` for samples that must not be written, ValueError
    for an unknown format, :class:`SaveError` when no backend produced a verified file.
    """
    t0 = time.perf_counter()
    target = os.path.abspath(os.fspath(path))
    fmt = format_for_path(target, subtype)
    x = validate(as_audio(samples, sample_rate))
    sr = int(sample_rate)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise SaveError(target, (), f"the directory {folder} does not exist")
    attempts: list[SaveAttempt] = []
    for name in backends or DEFAULT_SAVE_BACKENDS:
        backend = get_backend(name, allow_test=allow_test_backends)
        if backend.write is None or fmt.container not in backend.formats:
            attempts.append(SaveAttempt(name, "unsupported", f"{name} cannot write {fmt.container} files here"))
            continue
        tmp = _reserve(folder, target, fmt, attempts, name)
        start = time.perf_counter()
        try:
            attempt = _attempt(backend, tmp, x, sr, fmt, timeout_s, verify, allow_test_backends)
        finally:
            attempt_ok = "attempt" in locals() and attempt.outcome == "ok"
            if not attempt_ok and os.path.lexists(tmp):
                os.unlink(tmp)
        attempt = SaveAttempt(attempt.backend, attempt.outcome, attempt.error,
                              time.perf_counter() - start, attempt.subtype, attempt.hang)
        attempts.append(attempt)
        if attempt.outcome == "ok":
            try:
                os.replace(tmp, target)
                _fsync_dir(folder)
            except OSError as e:
                if os.path.lexists(tmp):
                    os.unlink(tmp)
                raise SaveError(target, attempts, f"renaming into place failed: {e.strerror or e}") from None
            return SaveResult(target, name, attempt.subtype or fmt.subtype, time.perf_counter() - t0,
                              tuple(attempts))
    raise SaveError(target, attempts)


def _reserve(folder: str, target: str, fmt: Format, attempts: list[SaveAttempt], name: str) -> str:
    """Create the temporary file (same directory; real suffix so suffix-driven writers pick the
    right format; named by :func:`qa.atomic.temporary_name`, so a directory walk never takes an
    interrupted save's leftover for audio); a directory that refuses it stops the save with a
    clear reason."""
    tmp = temporary_name(target, fmt.suffix)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
    except OSError as e:
        reason = (f"the directory {folder} is not writable ({e.strerror}); choose a writable output "
                  "directory or fix its permissions/mount" if e.errno in _DIR_ERRNOS
                  else f"cannot create a file in {folder} ({e.strerror or e})")
        attempts.append(SaveAttempt(name, "failed", f"{type(e).__name__}: {e}"))
        raise SaveError(target, attempts, reason) from None
    return tmp


def _attempt(backend: Backend, tmp: str, x: np.ndarray, sr: int, fmt: Format, timeout_s: float | None,
             verify: bool, allow_test: bool) -> SaveAttempt:
    name = backend.name
    if timeout_s is None:
        try:
            backend.write(tmp, x, sr, fmt)
        except ImportError as e:
            return SaveAttempt(name, "unavailable", f"{describe_error(e)}; {backend.install_hint}")
        except (OSError, RuntimeError, ValueError, TypeError) as e:
            return SaveAttempt(name, "failed", describe_error(e))
    else:
        failed = _write_in_child(name, tmp, x, sr, fmt, timeout_s, allow_test)
        if failed is not None:
            return failed
    try:
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        size = os.path.getsize(tmp)
    except OSError as e:
        return SaveAttempt(name, "failed", f"fsync failed: {e.strerror or e}")
    if size == 0:
        return SaveAttempt(name, "failed", "the writer returned without writing anything")
    if not verify:
        return SaveAttempt(name, "ok", subtype=fmt.subtype)
    v = verify_file(tmp, x, sr, fmt)
    return SaveAttempt(name, v.outcome, None if v.outcome == "ok" else v.message, subtype=v.subtype)


def _write_in_child(name: str, tmp: str, x: np.ndarray, sr: int, fmt: Format,
                    timeout_s: float, allow_test: bool) -> SaveAttempt | None:
    import json

    fd, npy = tempfile.mkstemp(suffix=".npy", prefix="audio-qa-save-")
    os.close(fd)
    try:
        np.save(npy, x)
        spec = {"backend": name, "path": tmp, "npy": npy, "sample_rate": sr,
                "format": asdict(fmt), "timeout": timeout_s, "allow_test": allow_test}
        with Child(["-m", "qa.io.child", json.dumps(spec)]) as child:
            try:
                child.next_event(f"starting the {name} writer's process", STARTUP_TIMEOUT_S)
                ev = child.next_event(f"save with {name}", timeout_s, watch=tmp)
            except ChildHung as e:
                return SaveAttempt(name, "hung", e.hang.describe(), hang=e.hang)
            except ChildDied as e:
                return SaveAttempt(name, "failed", str(e))
    finally:
        os.unlink(npy)
    if not ev["ok"]:
        outcome = "unavailable" if ev["error"].startswith(("ImportError", "ModuleNotFoundError")) else "failed"
        return SaveAttempt(name, outcome, ev["error"])
    return None


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
