"""The run directory of a scan and what each shard leaves in it.

```
RUN_DIR/plan.json                 the shard plan (qa.scan.plan)
RUN_DIR/rows/shard-00012.jsonl    one item per line (audio-qa.report/1 items, kind "file")
RUN_DIR/done/shard-00012.json     completion marker: written after the rows, so its presence
                                  means the rows are complete (the datatrove convention)
RUN_DIR/summary.json              audio-qa.corpus/1, once every shard is done
```

Rows and markers are written with :func:`qa.atomic.write_atomic`, so a shard killed at any point
leaves either nothing or its complete rows, and only a marker makes a shard count as done. The
run directory must be on a filesystem every worker sees (NFS, a cluster volume) for Dask runs
beyond one machine.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator

from qa.atomic import is_temporary, write_atomic
from qa.scan import ScanError
from qa.scan.plan import Plan, plan_from_dict


class RunDir:
    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)

    @property
    def plan_path(self) -> str:
        return os.path.join(self.path, "plan.json")

    @property
    def summary_path(self) -> str:
        return os.path.join(self.path, "summary.json")

    def rows_path(self, shard: int) -> str:
        return os.path.join(self.path, "rows", f"shard-{shard:05d}.jsonl")

    def marker_path(self, shard: int) -> str:
        return os.path.join(self.path, "done", f"shard-{shard:05d}.json")

    def has_plan(self) -> bool:
        return os.path.isfile(self.plan_path)

    def load_plan(self) -> Plan:
        try:
            with open(self.plan_path, encoding="utf-8") as f:
                return plan_from_dict(json.load(f), self.plan_path)
        except FileNotFoundError:
            raise ScanError(f"{self.path}: no plan.json; is this a scan run directory "
                            "(audio-qa scan ... --out RUN_DIR)?") from None
        except (OSError, json.JSONDecodeError) as e:
            raise ScanError(f"{self.plan_path}: cannot be read ({e})") from None

    def write_plan(self, plan: Plan) -> None:
        """The plan first, then the shard folders: a task of the same array that looks in
        between sees a plan, never folders without one."""
        os.makedirs(self.path, exist_ok=True)
        write_atomic(self.plan_path, plan.to_json())
        for sub in ("rows", "done"):
            os.makedirs(os.path.join(self.path, sub), exist_ok=True)

    def holds_other_files(self) -> bool:
        """Whether the folder holds anything but what a scan starting in it leaves before its
        plan is in place (another array task's plan temporary, empty shard folders)."""
        try:
            entries = list(os.scandir(self.path))
        except FileNotFoundError:
            return False
        except NotADirectoryError:
            return True
        for e in entries:
            if is_temporary(e.name):
                continue
            if e.name in ("rows", "done") and e.is_dir(follow_symlinks=False) and not os.listdir(e.path):
                continue
            return True
        return False

    def is_done(self, shard: int) -> bool:
        return os.path.isfile(self.marker_path(shard))

    def done_shards(self, plan: Plan) -> list[int]:
        return [i for i in range(len(plan.shards)) if self.is_done(i)]

    def write_shard(self, shard: int, rows: list[dict[str, Any]], marker: dict[str, Any]) -> None:
        """The rows, then the marker that says they are complete."""
        write_atomic(self.rows_path(shard),
                     "".join(json.dumps(r, allow_nan=False, sort_keys=True) + "\n" for r in rows))
        write_atomic(self.marker_path(shard), json.dumps(marker, sort_keys=True) + "\n")

    def read_marker(self, shard: int) -> dict[str, Any]:
        with open(self.marker_path(shard), encoding="utf-8") as f:
            return json.load(f)

    def iter_rows(self, plan: Plan) -> Iterator[dict[str, Any]]:
        """Every row of a finished scan, shard by shard in plan order."""
        missing = [i for i in range(len(plan.shards)) if not self.is_done(i)]
        if missing:
            raise ScanError(f"{self.path}: {len(missing)} of {len(plan.shards)} shards are not finished "
                            f"(first: {missing[0]}); finish the scan with --resume")
        for i in range(len(plan.shards)):
            with open(self.rows_path(i), encoding="utf-8") as f:
                for line in f:
                    yield json.loads(line)
