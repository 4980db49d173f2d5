"""One atomic write for every file audio-qa produces (JSON, HTML, JUnit, baselines, plots,
shard rows and markers, Prometheus text).

Guarantees, whatever happens to the process:
- the target is either its old content or the complete new content, never a mixture: the data
  goes to a temporary file in the target's own folder, is fsynced, renamed over the target with
  one ``os.replace``, and the folder is fsynced so the rename itself survives a power cut;
- the temporary cannot be redirected: it is created by ``tempfile.mkstemp`` (``O_CREAT | O_EXCL``,
  a fresh random name, mode 0600 then widened to the umask's default), so a symlink planted in a
  shared output folder is never followed and never overwritten;
- temporaries are recognisable: ``.<target name>.aqa-tmp-<host>@<pid>-<random>`` never ends in
  an audio suffix, so a directory walk never takes one for audio, and
  :func:`clean_stale_temporaries` removes those a killed run of this host left behind (their
  pid no longer runs) the next time anything is written to that folder. A folder shared by
  several machines (a scan's run folder on NFS under Dask or a Slurm array) holds other
  hosts' temporaries, whose pids mean nothing here: they are left alone, so one host never
  deletes a file another is writing. ``qa.io.save_audio``'s temporaries have the same name plus the
  target's suffix (writers such as torchaudio pick the format by it): :func:`is_temporary`
  knows both, and the directory walk skips every name it accepts.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile

from qa.errors import OutputError

#: Marker in every temporary's name (see the module docstring).
TEMP_MARKER = ".aqa-tmp-"
# host (absent in names written before hosts were recorded: this host's), pid, random, suffix
_TEMP_RE = re.compile(r"^\..+\.aqa-tmp-(?:([A-Za-z0-9_-]+)@)?(\d+)-[A-Za-z0-9_]+(\.[A-Za-z0-9]+)?$")


def _host_tag() -> str:
    """This machine's name as it appears in temporaries: letters, digits, ``_`` and ``-``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:40] or "host"


#: This machine's tag, read once (the hostname does not change under a running process).
HOST = _host_tag()


def _temp_prefix(target: str) -> str:
    return f".{os.path.basename(target)}{TEMP_MARKER}{HOST}@{os.getpid()}-"


def write_atomic(path: str | os.PathLike, data: str | bytes, *, mode: int | None = None) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` atomically; raise :class:`OutputError` naming
    the path and the reason when it cannot be written. The target's old content is kept on any
    failure."""
    with Staged(path, data, mode=mode) as staged:
        staged.commit()


class Staged:
    """The new content of ``path`` written to its temporary and fsynced, not yet in place.

    ``commit()`` renames it over the target; leaving the ``with`` block without a commit (or any
    error) removes the temporary. Lets a caller put several files in place only once all of them
    are safely on disk (a baseline and its ``.prev``, the outputs of one command)."""

    def __init__(self, path: str | os.PathLike, data: str | bytes, *, mode: int | None = None) -> None:
        self.path = os.fspath(path)
        self.folder = os.path.dirname(os.path.abspath(self.path)) or "."
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if os.path.isdir(self.path):
            raise OutputError(self.path, "is a directory; name a file")
        clean_stale_temporaries(self.folder)
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=_temp_prefix(self.path), dir=self.folder)
        except OSError as e:
            raise OutputError(self.path, f"cannot create a file in {self.folder} ({e.strerror or e}); "
                                         "choose a writable folder") from None
        try:
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(fd, view):]
                os.fchmod(fd, _default_mode() if mode is None else mode)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            self.discard()
            raise OutputError(self.path, f"cannot be written ({e.strerror or e})") from None

    def commit(self) -> None:
        try:
            os.replace(self.tmp, self.path)
        except OSError as e:
            self.discard()
            raise OutputError(self.path, f"cannot be written ({e.strerror or e})") from None
        fsync_dir(self.folder)

    def discard(self) -> None:
        if os.path.lexists(self.tmp):
            os.unlink(self.tmp)

    def __enter__(self) -> "Staged":
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def fsync_dir(folder: str | os.PathLike) -> None:
    """fsync a folder so a rename inside it is durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(os.fspath(folder), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems (9p, some FUSE) refuse fsync on a folder; the rename stands
        pass
    finally:
        os.close(fd)


def temporary_name(target: str, suffix: str = "") -> str:
    """A fresh temporary's path next to ``target``, in the one recognisable shape; ``suffix``
    (".wav") for writers that pick their format by it. The caller creates it with O_EXCL."""
    import uuid

    return os.path.join(os.path.dirname(target),
                        f"{_temp_prefix(target)}{uuid.uuid4().hex[:8]}{suffix}")


def is_temporary(name: str) -> bool:
    """True for the name of one of this module's temporaries (or save_audio's)."""
    return _TEMP_RE.match(os.path.basename(name)) is not None


def clean_stale_temporaries(folder: str | os.PathLike) -> list[str]:
    """Remove this host's temporaries in ``folder`` whose writer is gone (killed with SIGKILL,
    power cut); a temporary of a process that still runs, or of another host, is left alone.
    Returns the removed paths."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for e in entries:
        m = _TEMP_RE.match(e.name)
        if m is None or m.group(1) not in (None, HOST) or _pid_alive(int(m.group(2))):
            continue
        try:
            if e.is_file(follow_symlinks=False) or e.is_symlink():
                os.unlink(e.path)
                removed.append(e.path)
        except OSError:  # raced with another cleaner, or not ours to remove: leave it
            continue
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


#: Read once at import (``os.umask`` can only be read by setting it, which is not thread-safe).
_UMASK = _read_umask()


def _default_mode() -> int:
    return 0o666 & ~_UMASK
