"""The regression gate: a baseline against new results, item by item and metric by metric.

Pure: dicts in (a baseline from :mod:`qa.baseline`, a results dict, tolerances), a
:class:`GateResult` out. Rules:

* A metric moves by ``delta = current - baseline``. Within its tolerance (absolute, relative to
  the baseline value, or the larger of both) it is ``unchanged``; beyond it the direction decides:
  ``higher_is_better`` / ``lower_is_better`` make it ``improved`` or ``regressed``, ``two_sided``
  makes any move ``regressed``.
* A metric that had a value and is now null is ``regressed`` (the message gives the item's notes
  about it). Null before and a value now is ``new``.
* A check that was not failing (pass, warn, skip) and now fails or errors is ``regressed``,
  whatever the tolerances. Fail before and pass now is ``improved``. pass -> warn is
  ``regressed`` only with ``strict`` (warnings fail), otherwise ``unchanged`` with a message.
* An item, metric or check in the results but not the baseline is ``new`` (passes); one in the
  baseline and not the results is ``missing`` and fails the gate unless ``allow_missing``: a
  scenario that silently stopped running is lost coverage.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

from qa.baseline import snapshot
from qa.errors import AudioQAError

VERDICTS = ("regressed", "missing", "new", "improved", "unchanged")
DIRECTIONS = ("higher_is_better", "lower_is_better", "two_sided")
_BAD = {"fail", "error"}


class ToleranceError(AudioQAError, ValueError):
    """A malformed ``[gate]`` table in a profile or config."""


@dataclass(frozen=True)
class Tolerance:
    """How far a metric may move before it counts: ``max(abs, rel * |baseline|)``."""

    direction: str
    abs: float = 0.0
    rel: float = 0.0

    def allowed(self, baseline: float) -> float:
        return max(self.abs, self.rel * abs(baseline))


def tolerances_from_table(table: Mapping[str, Any]) -> dict[str, Tolerance]:
    """Parse a profile's ``gate`` section: ``METRIC = {abs = X, rel = Y, direction = "..."}``.

    The ``unlisted`` entry applies to metrics the table does not name."""
    out: dict[str, Tolerance] = {}
    for metric, spec in table.items():
        where = f"[gate] {metric}"
        if not isinstance(spec, Mapping):
            raise ToleranceError(f"{where} must be a table like {{abs = 0.1, direction = \"two_sided\"}}")
        unknown = set(spec) - {"abs", "rel", "direction"}
        if unknown:
            raise ToleranceError(f"{where}: unknown key(s) {sorted(unknown)}; use abs, rel, direction")
        direction = spec.get("direction")
        if direction not in DIRECTIONS:
            raise ToleranceError(f"{where}: direction must be one of {DIRECTIONS}, got {direction!r}")
        vals = {}
        for k in ("abs", "rel"):
            v = spec.get(k, 0.0)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ToleranceError(f"{where}: {k} must be a number >= 0, got {v!r}")
            vals[k] = float(v)
        if "abs" not in spec and "rel" not in spec:
            raise ToleranceError(f"{where}: give abs, rel or both")
        out[metric] = Tolerance(direction, vals["abs"], vals["rel"])
    if "unlisted" not in out:
        raise ToleranceError("[gate] needs an 'unlisted' entry for metrics it does not name")
    return out


def tolerances_from_profile(profile: Any) -> dict[str, Tolerance]:
    # [gate.corpus] is the corpus gate's (qa/scan/gate.py), not a metric.
    return tolerances_from_table({k: v for k, v in profile.section("gate").items() if k != "corpus"})


@dataclass(frozen=True)
class GateRow:
    """One compared value. ``metric`` is a metric name, ``check:ID`` or ``item`` (the item as a
    whole, for new and missing items); ``baseline``/``current`` are numbers, check statuses or
    None; ``delta`` is current - baseline for two numbers."""

    item: str
    metric: str
    baseline: Any
    current: Any
    delta: float | None
    verdict: str
    message: str
    tolerance: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateResult:
    rows: tuple[GateRow, ...]
    allow_missing: bool = False

    @property
    def failures(self) -> list[GateRow]:
        bad = {"regressed"} | (set() if self.allow_missing else {"missing"})
        return [r for r in self.rows if r.verdict in bad]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def compared(self) -> int:
        """Items in both the baseline and the results (the ones the gate actually judged)."""
        return len({r.item for r in self.rows if r.verdict not in ("missing", "new")})

    def counts(self) -> dict[str, int]:
        return {v: sum(r.verdict == v for r in self.rows) for v in VERDICTS}

    def to_dict(self, baseline_path: str | None = None) -> dict[str, Any]:
        """The top-level ``"gate"`` value of the report JSON."""
        d: dict[str, Any] = {"status": "pass" if self.passed else "fail",
                             "counts": self.counts(),
                             "rows": [r.to_dict() for r in self.rows]}
        if baseline_path is not None:
            d["baseline"] = baseline_path
        return d


def compare(baseline: Mapping[str, Any], results: Mapping[str, Any],
            tolerances: Mapping[str, Tolerance], *, root: Any = None, strict: bool = False,
            allow_missing: bool = False) -> GateResult:
    """Gate ``results`` (a report dict) against ``baseline`` (a baseline dict)."""
    current = snapshot(results, root=root)["items"]
    base = baseline["items"]
    notes = {k: v for k, v in _notes_by_key(results, root)}
    rows: list[GateRow] = []
    for key in sorted(set(base) | set(current)):
        if key not in current:
            rows.append(GateRow(key, "item", base[key].get("status"), None, None, "missing",
                                "in the baseline but not in the results: was it run?"))
            continue
        if key not in base:
            rows.append(GateRow(key, "item", None, current[key].get("status"), None, "new",
                                "not in the baseline; --update to accept it"))
            continue
        b, c = base[key], current[key]
        for name in _union(b.get("metrics", {}), c.get("metrics", {})):
            rows.append(_metric_row(key, name, b.get("metrics", {}), c.get("metrics", {}),
                                    tolerances, notes.get(key, ())))
        for cid in _union(b.get("checks", {}), c.get("checks", {})):
            rows.append(_check_row(key, cid, b.get("checks", {}), c.get("checks", {}), strict))
    return GateResult(tuple(rows), allow_missing=allow_missing)


def _union(a: Mapping, b: Mapping) -> list[str]:
    return list(a) + [k for k in b if k not in a]


def _notes_by_key(results: Mapping[str, Any], root: Any) -> Iterable[tuple[str, list[str]]]:
    from qa.baseline import item_key

    for item in results.get("items", []):
        yield item_key(item, root), list(item.get("notes", []))


def _metric_row(key: str, name: str, b: Mapping, c: Mapping, tols: Mapping[str, Tolerance],
                notes: Iterable[str]) -> GateRow:
    if name not in c:
        return GateRow(key, name, b[name], None, None, "missing",
                       "metric no longer reported")
    if name not in b:
        return GateRow(key, name, None, c[name], None, "new", "metric not in the baseline")
    bv, cv = b[name], c[name]
    if bv is None and cv is None:
        return GateRow(key, name, None, None, None, "unchanged", "null in both")
    if cv is None:
        why = [n for n in notes if re.search(rf"\b{re.escape(name)}\b", n)]
        return GateRow(key, name, bv, None, None, "regressed",
                       f"was {bv:g}, now null (no value)"
                       + (f": {'; '.join(why)}" if why else "; the item has no note saying why"))
    if bv is None:
        return GateRow(key, name, None, cv, None, "new", "null in the baseline, now has a value")
    tol = tols.get(name, tols["unlisted"])
    delta = cv - bv
    allowed = tol.allowed(bv)
    if abs(delta) <= allowed:
        return GateRow(key, name, bv, cv, delta, "unchanged",
                       f"moved {delta:+g}, within ±{allowed:g}", allowed)
    better = (tol.direction == "higher_is_better" and delta > 0) or (
        tol.direction == "lower_is_better" and delta < 0)
    verdict = "improved" if better else "regressed"
    side = "" if tol.direction == "two_sided" else f" ({tol.direction.replace('_', ' ')})"
    return GateRow(key, name, bv, cv, delta, verdict,
                   f"moved {delta:+g}, beyond ±{allowed:g}{side}", allowed)


def _check_row(key: str, cid: str, b: Mapping, c: Mapping, strict: bool) -> GateRow:
    metric = f"check:{cid}"
    if cid not in c:
        return GateRow(key, metric, b[cid], None, None, "missing", "check no longer run")
    if cid not in b:
        verdict = "new"
        msg = "check not in the baseline"
        if c[cid] in _BAD:
            msg += f" and it fails ({c[cid]})"
        return GateRow(key, metric, None, c[cid], None, verdict, msg)
    bs, cs = b[cid], c[cid]
    if bs == cs:
        return GateRow(key, metric, bs, cs, None, "unchanged", f"{cs} in both")
    change = f"{bs} -> {cs}"
    if cs in _BAD and bs not in _BAD:
        return GateRow(key, metric, bs, cs, None, "regressed",
                       f"{change}: newly failing (a check that passed never has a tolerance)")
    if bs in _BAD and cs not in _BAD:
        return GateRow(key, metric, bs, cs, None, "improved", f"{change}: no longer failing")
    if cs == "warn" and bs in ("pass", "skip"):
        if strict:
            return GateRow(key, metric, bs, cs, None, "regressed", f"{change} (--strict: warnings fail)")
        return GateRow(key, metric, bs, cs, None, "unchanged",
                       f"{change} (warnings do not fail without --strict)")
    if bs == "warn" and cs == "pass":
        return GateRow(key, metric, bs, cs, None, "improved", change)
    return GateRow(key, metric, bs, cs, None, "unchanged", change)
