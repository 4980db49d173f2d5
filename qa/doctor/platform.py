"""Platform facts that make saves slow or fail: WSL, the output directory's filesystem (from a
/proc/mounts table), free space, writability and write throughput.

Parsing is pure (tables in, records out) so that 9p/drvfs detection is tested on given text.
"""

from __future__ import annotations

import os
import platform as _platform
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass

#: Filesystems where audio writes are known to crawl or wedge: 9p and drvfs are how WSL2 / WSL1
#: reach Windows drives (/mnt/c), virtiofs a VM's host share; fuse-based network mounts alike.
SLOW_FILESYSTEMS = {"9p": "WSL2's 9p share of a Windows drive", "drvfs": "WSL's Windows drive mount",
                    "virtiofs": "a virtual machine's host share", "fuse.sshfs": "an SSH network mount",
                    "cifs": "an SMB network share", "smb3": "an SMB network share", "nfs": "an NFS network share",
                    "nfs4": "an NFS network share"}
#: Bytes written for the throughput measurement: enough to leave the page cache's fast path
#: because each write is fsynced, small enough to take well under a second on a local disk.
THROUGHPUT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Mount:
    device: str
    mountpoint: str
    fstype: str
    options: str


def parse_mounts(text: str) -> list[Mount]:
    """Rows of a /proc/mounts table; octal escapes (\\040 for a space) are decoded."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            dev, mnt, fstype, opts = (_unescape(p) for p in parts[:4])
            out.append(Mount(dev, mnt, fstype, opts))
    return out


def _unescape(s: str) -> str:
    import re

    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def mount_for(path: str, mounts: list[Mount]) -> Mount | None:
    """The mount holding ``path``: the longest mount point that is a prefix of it (the last one
    listed wins among equal mount points, as in the kernel's table)."""
    p = os.path.abspath(path)
    best: Mount | None = None
    for m in mounts:
        mp = m.mountpoint.rstrip("/") or "/"
        if p == mp or p.startswith(mp + "/") or mp == "/":
            if best is None or len(mp) >= len(best.mountpoint.rstrip("/") or "/"):
                best = m
    return best


def wsl_version(proc_version: str, osrelease: str = "") -> int | None:
    """1 or 2 under WSL (from /proc/version and /proc/sys/kernel/osrelease), None otherwise.
    WSL2 kernels are named "...-microsoft-standard-WSL2"; WSL1 reports "Microsoft"."""
    text = f"{proc_version} {osrelease}"
    if "microsoft" not in text.lower():
        return None
    return 2 if ("WSL2" in text or "microsoft-standard" in text) else 1


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


@dataclass(frozen=True)
class DirReport:
    path: str
    exists: bool
    writable: bool
    write_error: str | None
    fstype: str | None
    mountpoint: str | None
    free_bytes: int | None
    mb_per_s: float | None  # fsynced write throughput to ``path``
    temp_mb_per_s: float | None  # the same to the system temp directory


def system_facts() -> dict[str, object]:
    return {"os": _platform.platform(), "python": _platform.python_version(),
            "wsl": wsl_version(_read("/proc/version"), _read("/proc/sys/kernel/osrelease")),
            "temp_dir": tempfile.gettempdir()}


def inspect_dir(path: str, mounts_text: str | None = None, *, measure: bool = True) -> DirReport:
    """Writability (by really creating a file: permission bits say nothing to root), the
    filesystem type, free space and, when ``measure``, fsynced write throughput."""
    path = os.path.abspath(path)
    mounts = parse_mounts(_read("/proc/mounts") if mounts_text is None else mounts_text)
    m = mount_for(path, mounts) if mounts else None
    if not os.path.isdir(path):
        return DirReport(path, False, False, "does not exist", m and m.fstype, m and m.mountpoint,
                         None, None, None)
    free = shutil.disk_usage(path).free
    err = None
    try:
        speed = throughput(path) if measure else None
    except OSError as e:
        err, speed = f"{type(e).__name__}: {e.strerror or e}", None
    temp = None
    if measure and err is None:
        try:
            temp = throughput(tempfile.gettempdir())
        except OSError:
            temp = None  # the comparison is then left out; the output directory is what matters
    return DirReport(path, True, err is None, err, m and m.fstype, m and m.mountpoint, free, speed, temp)


def throughput(folder: str, nbytes: int = THROUGHPUT_BYTES) -> float:
    """MB/s of a write of ``nbytes`` in 1 MiB blocks followed by fsync, in ``folder``; the file
    is removed. Raises OSError when the folder cannot be written."""
    p = os.path.join(folder, f".audio-qa-doctor-{uuid.uuid4().hex[:8]}.tmp")
    block = os.urandom(1 << 20)
    t0 = time.perf_counter()
    try:
        with open(p, "wb") as f:
            for _ in range(max(1, nbytes >> 20)):
                f.write(block)
            f.flush()
            os.fsync(f.fileno())
        dt = time.perf_counter() - t0
    finally:
        if os.path.lexists(p):
            os.unlink(p)
    return nbytes / 1e6 / max(dt, 1e-9)
