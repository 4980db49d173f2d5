"""The manifest and the shard plan of a scan (``RUN_DIR/plan.json``).

A manifest is JSONL, one file per line: ``{"path": "a.wav"}`` with optional expectations
``"sample_rate"`` (Hz), ``"channels"`` and ``"duration"`` (seconds) that override the command
line's ``--expect-*`` for that file. Relative paths are relative to the manifest's folder.

The plan cuts the file list, in the order given, into shards of ``shard_size`` files. It is
deterministic (the same inputs give the same plan byte for byte), so every task of a job array
can write it, and its ``fingerprint`` (a hash of the files, their expectations, the shard size,
the profile's thresholds, the command line's expectations and read options) tells a resume
whether it is finishing the same scan. Paths are absolute, so every worker and array task opens
the same files whatever its working folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from qa.scan import ScanError

PLAN_SCHEMA = "audio-qa.scan-plan/1"
#: Files per shard: a killed scan loses at most this many files per lane; the run directory
#: holds two small files per shard (1,000 shards per 100k files).
DEFAULT_SHARD_SIZE = 100
#: Per-file expectation keys of a manifest line and their types.
EXPECT_KEYS = {"sample_rate": int, "channels": int, "duration": float}


@dataclass(frozen=True)
class Entry:
    """One file of the scan with its expectations (None: the command line's, if any)."""

    path: str
    sample_rate: int | None = None
    channels: int | None = None
    duration: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path}
        for k in EXPECT_KEYS:
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Entry":
        return cls(str(d["path"]), **{k: d.get(k) for k in EXPECT_KEYS})


@dataclass(frozen=True)
class Plan:
    """Shards of entries; ``shards[i]`` is shard ``i``."""

    shards: tuple[tuple[Entry, ...], ...]
    shard_size: int
    profile: str
    fingerprint: str

    @property
    def files(self) -> int:
        return sum(len(s) for s in self.shards)

    def group(self, index: int, count: int) -> list[int]:
        """The shard ids of group ``index`` of ``count`` (``--shard I/N``, I from 1): every
        ``count``-th shard, so the groups are balanced and together cover every shard once."""
        return list(range(index - 1, len(self.shards), count))

    def to_dict(self) -> dict[str, Any]:
        return {"schema": PLAN_SCHEMA, "fingerprint": self.fingerprint, "profile": self.profile,
                "shard_size": self.shard_size, "files": self.files,
                "shards": [[e.to_dict() for e in s] for s in self.shards]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n"


def read_manifest(path: str) -> list[Entry]:
    """The entries of a JSONL manifest; a bad line is a :class:`ScanError` naming it."""
    base = os.path.dirname(path)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except FileNotFoundError:
        raise ScanError(f"manifest {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScanError(f"manifest {path}: cannot be read ({e})") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        out.append(_entry(line, f"manifest {path} line {n}", base))
    if not out:
        raise ScanError(f"manifest {path}: no entries; write one JSON object per line, "
                        'e.g. {"path": "song.wav", "sample_rate": 48000}')
    return out


def _entry(line: str, where: str, base: str) -> Entry:
    try:
        d = json.loads(line)
    except json.JSONDecodeError as e:
        raise ScanError(f"{where}: not JSON ({e.msg}); write one object per line") from None
    if not isinstance(d, dict) or not isinstance(d.get("path"), str) or not d["path"]:
        raise ScanError(f'{where}: expected an object with a "path" string, got {line.strip()[:80]!r}')
    unknown = set(d) - {"path", *EXPECT_KEYS}
    if unknown:
        raise ScanError(f"{where}: unknown key(s) {sorted(unknown)}; use path, {', '.join(EXPECT_KEYS)}")
    values: dict[str, Any] = {}
    for k, typ in EXPECT_KEYS.items():
        v = d.get(k)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 or (typ is int and v != int(v)):
            raise ScanError(f"{where}: {k} must be a positive {'integer' if typ is int else 'number'}, got {v!r}")
        values[k] = typ(v)
    return Entry(os.path.abspath(os.path.join(base, d["path"])), **values)


def make_plan(entries: Iterable[Entry], *, profile_name: str, thresholds: Mapping[str, Any],
              shard_size: int = DEFAULT_SHARD_SIZE, context: Mapping[str, Any] | None = None) -> Plan:
    """Shards of ``shard_size`` entries in the order given. ``context``: what else judges the
    rows (the command line's expectations and read options, :func:`qa.scan.worker.context_spec`);
    it enters the fingerprint, so a resume with other expectations is a different scan."""
    entries = list(entries)
    if shard_size < 1:
        raise ScanError(f"shard size must be at least 1, got {shard_size}")
    seen: set[str] = set()
    for e in entries:
        if e.path in seen:
            raise ScanError(f"{e.path} is listed twice; each file is scanned once, remove the duplicate")
        seen.add(e.path)
    shards = tuple(tuple(entries[i:i + shard_size]) for i in range(0, len(entries), shard_size))
    h = hashlib.sha256()
    judged_by = {k: v for k, v in (context or {}).items() if k != "profile"}
    h.update(json.dumps([[e.to_dict() for e in entries], shard_size, profile_name, thresholds]
                        + ([judged_by] if judged_by else []), sort_keys=True, default=str).encode())
    return Plan(shards, shard_size, profile_name, h.hexdigest()[:16])


def plan_from_dict(d: Mapping[str, Any], where: str) -> Plan:
    if d.get("schema") != PLAN_SCHEMA:
        raise ScanError(f"{where}: schema is {d.get('schema')!r}, expected {PLAN_SCHEMA!r}")
    try:
        shards = tuple(tuple(Entry.from_dict(e) for e in s) for s in d["shards"])
        return Plan(shards, int(d["shard_size"]), str(d["profile"]), str(d["fingerprint"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ScanError(f"{where}: malformed plan ({e}); remove the run directory and scan again") from None


def parse_shard_spec(text: str) -> tuple[int, int]:
    """``"I/N"`` (1 <= I <= N) as ``(I, N)``; a ValueError says what is wrong."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"expected I/N such as 3/8, got {text!r}") from None
    if not 1 <= i <= n:
        raise ValueError(f"expected 1 <= I <= N in I/N, got {text!r}")
    return i, n
