"""Runs -> one item of kind ``probe`` (CONTRACTS.md "Service probes"): the phases (medians over
the runs that reached them), one primary error class, percentiles of the total time over the
successful runs, the success rate, the file checks of a representative run."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from qa.probe.errors import HINTS
from qa.probe.runner import PHASES, RunRecord
from qa.results import CheckResult, ItemResult

PERCENTILES = (50, 90, 95, 99)


def percentiles(values: list[float]) -> dict[str, float | None]:
    """``total_s_pNN`` over ``values`` (linear interpolation between order statistics)."""
    if not values:
        return {f"total_s_p{p}": None for p in PERCENTILES}
    q = np.percentile(np.asarray(values, dtype=np.float64), PERCENTILES)
    return {f"total_s_p{p}": float(v) for p, v in zip(PERCENTILES, q)}


def primary_error(records: list[RunRecord]) -> str | None:
    """The most frequent error class over the runs (ties: the earliest run's)."""
    classes = [r.error_class for r in records if r.error_class]
    if not classes:
        return None
    counts = Counter(classes)
    top = max(counts.values())
    return next(c for c in classes if counts[c] == top)


def probe_item(path: str, adapter: str, records: list[RunRecord], *, ready: CheckResult,
               url: str | None = None, notes: tuple[str, ...] = (),
               preflight_error: str | None = None) -> ItemResult:
    """The item of ``records``; with none (the preflight stopped the probe) the error class is
    ``preflight_error``."""
    ok = [r for r in records if r.error_class is None]
    n = len(records)
    err = primary_error(records) if records else preflight_error
    phases = {p: _median([r.phases[p] for r in ok] or [r.phases[p] for r in records]) for p in PHASES}
    metrics: dict[str, Any] = {}
    rep = next((r for r in records if r.error_class and r.file_item), None) or next(
        (r for r in records if r.file_item), None)
    file_checks: tuple[CheckResult, ...] = ()
    item_notes = list(notes)
    if rep is not None:
        metrics.update(rep.file_item.metrics)
        file_checks = rep.file_item.checks
        item_notes += [f"canary audio (run {rep.index}): {x}" for x in rep.file_item.notes]
    pct = percentiles([r.phases["total_s"] for r in ok])
    metrics.update(pct)
    metrics["success_rate"] = len(ok) / n if n else 0.0
    if not ok:
        item_notes.append("total_s_p50, total_s_p90, total_s_p95, total_s_p99: no successful run to time")
    sources = sorted({f"{k}: {v}" for r in records for k, v in r.phase_source.items()})
    if sources:
        item_notes.append("phase timings from " + ", ".join(sources) + " (server = the service's own timestamps)")
    checks = (ready, _job_check(records, err), *file_checks)
    counts = {"runs": n, "succeeded": len(ok), "http_429": sum(r.http_429 for r in records),
              "refusals": sum(r.refusals for r in records),
              "max_queue_position": max((r.max_position for r in records if r.max_position), default=None),
              "errors": dict(Counter(r.error_class for r in records if r.error_class))}
    extra = {"adapter": adapter, "error_class": err, "phases": phases, "counts": counts,
             "runs": [r.to_dict() for r in records]}
    if url and url != path:
        extra["url"] = url
    f = rep.file_item if rep else None
    return ItemResult("probe", path, checks, metrics, f.sample_rate if f else None, f.channels if f else None,
                      f.frames if f else None, tuple(item_notes), extra)


def _job_check(records: list[RunRecord], err: str | None) -> CheckResult:
    n = len(records)
    bad = [r for r in records if r.error_class]
    if not records:
        return CheckResult("service_job", "skip", f"no run: the preflight stopped the probe ({err})")
    if not bad:
        return CheckResult("service_job", "pass", f"{n} of {n} run(s) succeeded", 0, 0, "runs")
    first = next(r for r in bad if r.error_class == err)
    classes = ", ".join(f"{c} x{k}" for c, k in Counter(r.error_class for r in bad).items())
    said = f"; the service said: {first.server_message}" if first.server_message else ""
    return CheckResult("service_job", "fail", f"{len(bad)} of {n} run(s) failed ({classes}); "
                       f"run {first.index}: {err}: {first.message}{said}", len(bad), 0, "runs", HINTS[err])


def _median(vals: list[float | None]) -> float | None:
    v = [x for x in vals if x is not None]
    return float(np.median(v)) if v else None
