"""Result records and the one place they become the JSON of CONTRACTS.md (audio-qa.report/1).

Results are small frozen dataclasses. ``to_dict`` is the only serializer; everything that writes
JSON (the CLI, reports, baselines) goes through it, so the schema lives in one file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

SCHEMA = "audio-qa.report/1"

#: Check statuses in order of severity (the worst wins when statuses are combined).
CHECK_STATUSES = ("skip", "pass", "warn", "fail", "error")
ITEM_STATUSES = ("pass", "warn", "fail", "error")
_RANK = {s: i for i, s in enumerate(CHECK_STATUSES)}


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict. ``value``/``threshold`` are numbers in ``unit`` (or None when the
    check did not measure anything, e.g. skipped); ``message`` says what was found, ``hint``
    what to do about it."""

    id: str
    status: str
    message: str
    value: float | int | None = None
    threshold: float | int | None = None
    unit: str | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        if self.status not in CHECK_STATUSES:
            raise ValueError(f"check status must be one of {CHECK_STATUSES}, got {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "status": self.status}
        d["value"] = _num(self.value)
        d["threshold"] = _num(self.threshold)
        d["unit"] = self.unit
        d["message"] = shown(self.message)
        if self.hint:
            d["hint"] = shown(self.hint)
        return d


@dataclass(frozen=True)
class ItemResult:
    """One file, comparison, round trip, pipeline run or backend. ``extra`` carries the
    kind-specific fields of the contract (``stages``, ``codec``, ``first_bad_stage``, ...)."""

    kind: str
    path: str
    checks: tuple[CheckResult, ...] = ()
    metrics: dict[str, Any] = field(default_factory=dict)  # numbers, None, or lists of numbers
    sample_rate: int | None = None
    channels: int | None = None
    frames: int | None = None
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """The worst check status; an item with no failing check passes."""
        worst = worst_status(c.status for c in self.checks)
        return "pass" if worst == "skip" else worst

    def check(self, check_id: str) -> CheckResult | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def with_checks(self, more: Iterable[CheckResult]) -> "ItemResult":
        return replace(self, checks=self.checks + tuple(more))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "path": shown(self.path), "status": self.status}
        if self.sample_rate is not None:
            d["sample_rate"] = self.sample_rate
            d["channels"] = self.channels
            d["frames"] = self.frames
        d["metrics"] = {k: _num(v) for k, v in self.metrics.items()}
        d["checks"] = [c.to_dict() for c in self.checks]
        for k, v in self.extra.items():
            d[k] = _jsonable(v)
        d["notes"] = [shown(n) for n in self.notes]
        return d


@dataclass(frozen=True)
class Report:
    """A whole run: the items and the environment they were measured in."""

    items: tuple[ItemResult, ...]
    environment: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        worst = worst_status(i.status for i in self.items)
        if worst in ("skip",):
            return "pass"
        return "fail" if worst == "error" else worst

    def to_dict(self) -> dict[str, Any]:
        from qa import __version__

        d = {
            "schema": SCHEMA,
            "tool": {"name": "audio-qa", "version": __version__},
            "status": self.status,
            "environment": _jsonable(self.environment),
            "items": [i.to_dict() for i in self.items],
        }
        for k, v in self.extra.items():
            d[k] = _jsonable(v)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"


def shown(text: str) -> str:
    """``text`` as it can be shown anywhere (JSON, HTML, a terminal, a strict UTF-8 stdout): a
    file name that is not UTF-8 reaches Python with its odd bytes as lone surrogates
    (surrogateescape); they become ``\\xNN`` escapes instead of an encoding error."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def worst_status(statuses: Iterable[str]) -> str:
    """The most severe of ``statuses`` ("skip" when there are none)."""
    worst = "skip"
    for s in statuses:
        if _RANK[s] > _RANK[worst]:
            worst = s
    return worst


def _num(v: Any) -> Any:
    """Numbers for JSON: numpy scalars unwrapped; NaN and infinities are refused, because a
    metric that has no value must be None with a note, not a non-number."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, (list, tuple)):  # a series, e.g. momentary_series [[t, lufs], ...]
        return [_num(x) for x in v]
    if isinstance(v, (int,)):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    if not math.isfinite(f):
        raise ValueError(f"non-finite metric value {v!r}: return None with a note instead")
    if hasattr(v, "item"):
        v = v.item()
    return int(v) if isinstance(v, int) else f


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "to_dict"):
        return v.to_dict()
    if isinstance(v, str):
        return shown(v)
    if isinstance(v, (type(None), bool)):
        return v
    return _num(v)
