"""One shard, from its plan entries to its rows and completion marker."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from qa.scan.store import RunDir
from qa.scan.worker import FileWorker


@dataclass(frozen=True)
class ShardDone:
    """What the progress line needs of a finished shard."""

    shard: int
    files: int
    failures: int
    audio_s: float
    skipped: bool = False

    @classmethod
    def from_marker(cls, shard: int, m: Mapping[str, Any], *, skipped: bool = False) -> "ShardDone":
        return cls(shard, int(m["files"]), int(m["failures"]), float(m["audio_s"]), skipped)


def row_audio_s(row: Mapping[str, Any]) -> float:
    sr, frames = row.get("sample_rate"), row.get("frames")
    return frames / sr if isinstance(sr, int) and isinstance(frames, int) and sr > 0 else 0.0


def is_failure(row: Mapping[str, Any]) -> bool:
    return row.get("status") in ("fail", "error")


def run_shard(run_dir: RunDir, shard: int, entries: list[Mapping[str, Any]], worker: FileWorker,
              on_row: Callable[[dict[str, Any]], None] | None = None) -> ShardDone:
    """Check every file of ``shard`` and write its rows and marker; a shard already marked done
    is left as it is (a Dask task run twice after a lost worker does the work once)."""
    if run_dir.is_done(shard):
        return ShardDone.from_marker(shard, run_dir.read_marker(shard), skipped=True)
    t0 = time.monotonic()
    rows = []
    for entry in entries:
        row = worker.check(entry)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    marker = {"shard": shard, "files": len(rows), "failures": sum(map(is_failure, rows)),
              "audio_s": round(sum(map(row_audio_s, rows)), 3),
              "seconds": round(time.monotonic() - t0, 3)}
    run_dir.write_shard(shard, rows, marker)
    return ShardDone.from_marker(shard, marker)
