"""Baselines: a results file (``audio-qa.report/1``) reduced to what the gate compares, stored as
plain JSON that diffs well in review.

A baseline holds, per item, its scalar metrics rounded to :data:`DIGITS` significant digits and
the status of each check (stage checks of a pipeline run as ``STAGE/CHECK``). Keys are sorted
and the rounding is the same on every machine, so re-accepting unchanged results rewrites the
file byte for byte and a review diff shows only what moved.

Writes are atomic: the new text goes to a temporary file in the same directory, is flushed to
disk, and replaces the old file with one ``os.replace``. The previous baseline is kept beside it
as ``FILE.prev``. A write that fails or is killed part way leaves the old baseline untouched.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

from qa.atomic import Staged, write_atomic
from qa.errors import AudioQAError, OutputError

BASELINE_SCHEMA = "audio-qa.baseline/1"
REPORT_SCHEMA = "audio-qa.report/1"
#: Significant digits kept: enough for every tolerance in qa/profiles.toml [default.gate]
#: (the finest is 1e-6 relative), few enough that float noise in the last bits never shows.
DIGITS = 7


class BaselineError(AudioQAError, ValueError):
    """A baseline or results file that cannot be used (the CLI exits 2 with the message)."""


def round_value(v: Any, digits: int = DIGITS) -> Any:
    """``v`` rounded to ``digits`` significant digits; ints, None and bools unchanged.

    -0.0 becomes 0.0 so a sign flip of nothing does not show up in a diff."""
    if v is None or isinstance(v, (bool, int)):
        return v
    if not isinstance(v, float):
        raise BaselineError(f"metric value {v!r} is not a number")
    if not math.isfinite(v):
        raise BaselineError(f"metric value {v!r} is not finite; results must carry null instead")
    r = float(f"{v:.{digits}g}")
    return 0.0 if r == 0.0 else r


def item_key(item: Mapping[str, Any], root: str | os.PathLike | None = None) -> str:
    """The identity of an item across runs: ``KIND:PATH`` plus ``#CODEC`` for a round trip.

    A path under ``root`` is made relative to it (POSIX separators), so a baseline made in one
    checkout matches results from another."""
    path = str(item.get("path", ""))
    if root is not None and os.path.isabs(path):
        try:
            path = Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass  # outside the root: the absolute path is the identity
    key = f"{item.get('kind', '?')}:{path}"
    if item.get("codec"):
        key += f"#{item['codec']}"
    return key


def snapshot(report: Mapping[str, Any], *, root: str | os.PathLike | None = None,
             source: str | None = None) -> dict[str, Any]:
    """Reduce a results dict to a baseline dict (what :func:`qa.gate.compare` reads)."""
    if report.get("schema") != REPORT_SCHEMA:
        raise BaselineError(
            f"results schema is {report.get('schema')!r}, expected {REPORT_SCHEMA!r}: pass the "
            "JSON written by an audio-qa command's --json"
        )
    items: dict[str, Any] = {}
    for item in report.get("items", []):
        key = item_key(item, root)
        if key in items:
            raise BaselineError(
                f"two items share the identity {key!r}; give them distinct paths so the gate can "
                "tell them apart"
            )
        checks = {c["id"]: c["status"] for c in item.get("checks", [])}
        for st in item.get("stages", []) or []:
            for c in st.get("checks", []) or []:
                checks[f"{st['name']}/{c['id']}"] = c["status"]
        metrics = {
            name: round_value(float(v) if isinstance(v, float) else v)
            for name, v in (item.get("metrics") or {}).items()
            if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
        }
        items[key] = {"kind": item.get("kind"), "status": item.get("status"),
                      "metrics": metrics, "checks": checks}
    out: dict[str, Any] = {"schema": BASELINE_SCHEMA, "items": items}
    if source:
        out["source"] = source
    return out


def dumps(baseline: Mapping[str, Any]) -> str:
    """The canonical text of a baseline: sorted keys, two-space indent, trailing newline."""
    return json.dumps(baseline, indent=2, sort_keys=True, allow_nan=False) + "\n"


def load_json(path: str | os.PathLike, what: str) -> dict[str, Any]:
    """Read a JSON object, with a message naming the file and the fix when it cannot be used."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise BaselineError(f"{what} {path}: no such file") from None
    except json.JSONDecodeError as e:
        raise BaselineError(f"{what} {path}: not valid JSON ({e}); was the write interrupted?") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BaselineError(f"{what} {path}: cannot be read ({e})") from None
    if not isinstance(data, dict):
        raise BaselineError(f"{what} {path}: expected a JSON object, got {type(data).__name__}")
    return data


def load_baseline(path: str | os.PathLike) -> dict[str, Any]:
    data = load_json(path, "baseline")
    if data.get("schema") != BASELINE_SCHEMA or not isinstance(data.get("items"), dict):
        raise BaselineError(
            f"baseline {path}: schema is {data.get('schema')!r}, expected {BASELINE_SCHEMA!r}; "
            "create it with `audio-qa gate RESULTS.json --baseline FILE --update`"
        )
    return data


def previous_path(path: str | os.PathLike) -> str:
    """Where ``--update`` keeps the baseline it replaces."""
    return f"{os.fspath(path)}.prev"


def write_baseline(path: str | os.PathLike, baseline: Mapping[str, Any], *,
                   keep_previous: bool = True) -> None:
    """Write ``baseline`` atomically; the file it replaces is kept as ``FILE.prev``.

    Order: the new text staged beside ``FILE`` (fsynced), the old file copied to ``FILE.prev``,
    then the new text renamed over ``FILE`` (:mod:`qa.atomic`). Killed at any point, FILE
    is either the old baseline or the new one, never a mixture."""
    path = os.fspath(path)
    text = dumps(baseline)
    try:
        with Staged(path, text) as new:
            if keep_previous and os.path.exists(path):
                with open(path, "rb") as f:
                    write_atomic(previous_path(path), f.read())
            new.commit()
    except OSError as e:
        raise BaselineError(f"baseline {path}: cannot be read ({e.strerror or e}); it is unchanged") from None
    except OutputError as e:
        raise BaselineError(f"baseline {path}: {e.reason}; the previous baseline is unchanged") from None
