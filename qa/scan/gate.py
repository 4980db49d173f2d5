"""The corpus gate: a scan's ``summary.json`` against a corpus baseline (an earlier summary).

Pure: dicts in, a :class:`qa.gate.GateResult` out, with rows of item ``"corpus"``. Settings come
from the profile's ``[gate.corpus]`` table; the metric tolerances and directions from ``[gate]``.

* ``CHECK.fail_rate``: the share of files failing a check may rise by ``fail_rate``'s tolerance;
  beyond it the gate fails, a fall beyond it is ``improved``. ``CHECK.warn_rate`` likewise, but
  it fails the gate only with ``strict``.
* ``METRIC.null_rate``: the share of files without a value may rise by ``null_rate``'s tolerance.
* ``METRIC.p5`` / ``.p50`` / ``.p95`` (``percentiles``): each moves like a per-file metric of
  :mod:`qa.gate`, with the metric's tolerance and direction (a lower crest median regresses).
* ``METRIC.ks``: the two-sample Kolmogorov-Smirnov statistic D between the two distributions,
  read off their 101 stored quantiles; the distribution moved (regressed, whatever the way) when D
  exceeds both the critical value at ``ks_alpha`` and ``ks_min_d``.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from qa.baseline import round_value
from qa.gate import GateResult, GateRow, ToleranceError, Tolerance, _metric_row, tolerances_from_table
from qa.scan.summary import CORPUS_SCHEMA

ITEM = "corpus"
_RATES = ("fail_rate", "warn_rate", "null_rate")


def corpus_settings(gate_table: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[gate.corpus]`` table, checked: rate tolerances, percentiles, KS settings."""
    table = gate_table.get("corpus")
    if not isinstance(table, Mapping):
        raise ToleranceError("[gate.corpus] is missing: the corpus gate needs its rate tolerances "
                             "(see qa/profiles.toml [default.gate.corpus])")
    missing = [k for k in (*_RATES, "percentiles", "ks_alpha", "ks_min_d") if k not in table]
    if missing:
        raise ToleranceError(f"[gate.corpus] needs {', '.join(missing)}")
    # The rate entries have the shape of metric tolerances; "unlisted" only satisfies the parser.
    rates = tolerances_from_table({**{k: table[k] for k in _RATES}, "unlisted": table["fail_rate"]})
    pcts = table["percentiles"]
    if not isinstance(pcts, list) or not all(isinstance(p, str) and p in {"p1", "p5", "p25", "p50", "p75", "p95", "p99"}
                                             for p in pcts):
        raise ToleranceError(f"[gate.corpus] percentiles must be a list of p1, p5, p25, p50, p75, p95, p99; got {pcts!r}")
    alpha, min_d = table["ks_alpha"], table["ks_min_d"]
    if not (isinstance(alpha, float) and 0 < alpha < 1) or not (isinstance(min_d, (int, float)) and 0 <= min_d <= 1):
        raise ToleranceError(f"[gate.corpus] ks_alpha must lie in (0, 1) and ks_min_d in [0, 1]; got {alpha!r}, {min_d!r}")
    return {**{k: rates[k] for k in _RATES}, "percentiles": pcts, "ks_alpha": alpha, "ks_min_d": float(min_d)}


def corpus_snapshot(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The baseline of a summary: everything but the worst-file lists, numbers rounded as in
    :mod:`qa.baseline` so that accepting the same corpus again rewrites the file byte for byte."""
    return _rounded({k: v for k, v in summary.items() if k != "worst"})


def _rounded(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _rounded(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_rounded(x) for x in v]
    return round_value(v) if isinstance(v, float) else v


def ks_statistic(q1: list[float], q2: list[float]) -> float:
    """Two-sample KS D = sup |F1 - F2| with each F the empirical CDF of its stored quantiles."""
    a, b = np.sort(np.asarray(q1, float)), np.sort(np.asarray(q2, float))
    x = np.union1d(a, b)
    f1 = np.searchsorted(a, x, side="right") / a.size
    f2 = np.searchsorted(b, x, side="right") / b.size
    return float(np.max(np.abs(f1 - f2)))


def ks_critical(n: int, m: int, alpha: float) -> float:
    """The asymptotic two-sample critical value c(alpha) * sqrt((n + m) / (n m)),
    c(alpha) = sqrt(-ln(alpha / 2) / 2) (Smirnov)."""
    return math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m))


def compare_corpus(baseline: Mapping[str, Any], summary: Mapping[str, Any],
                   metric_tols: Mapping[str, Tolerance], settings: Mapping[str, Any], *,
                   strict: bool = False) -> GateResult:
    summary = corpus_snapshot(summary)  # rounded as the baseline is, so a rerun compares equal
    rows: list[GateRow] = []
    b_checks, c_checks = baseline.get("checks", {}), summary.get("checks", {})
    for cid in _union(b_checks, c_checks):
        rows.append(_rate_row(f"{cid}.fail_rate", b_checks.get(cid), c_checks.get(cid), "fail_rate",
                              settings["fail_rate"]))
        row = _rate_row(f"{cid}.warn_rate", b_checks.get(cid), c_checks.get(cid), "warn_rate",
                        settings["warn_rate"])
        if row.verdict == "regressed" and not strict:
            row = GateRow(row.item, row.metric, row.baseline, row.current, row.delta, "unchanged",
                          f"{row.message} (warnings do not fail without --strict)", row.tolerance)
        rows.append(row)
    b_metrics, c_metrics = baseline.get("metrics", {}), summary.get("metrics", {})
    for name in _union(b_metrics, c_metrics):
        b, c = b_metrics.get(name), c_metrics.get(name)
        rows.append(_rate_row(f"{name}.null_rate", _null_rate(b), _null_rate(c), "null_rate",
                              settings["null_rate"]))
        if b is None or c is None:
            continue
        tol = metric_tols.get(name, metric_tols["unlisted"])
        for p in settings["percentiles"]:
            key = f"{name}.{p}"
            rows.append(_metric_row(ITEM, key, {key: b.get(p)}, {key: c.get(p)}, {key: tol, "unlisted": tol}, ()))
        rows.append(_ks_row(name, b, c, settings))
    return GateResult(tuple(rows))


def _union(a: Mapping, b: Mapping) -> list[str]:
    return list(a) + [k for k in b if k not in a]


def _null_rate(dist: Mapping[str, Any] | None) -> dict[str, float] | None:
    if dist is None:
        return None
    total = dist["count"] + dist["nulls"]
    return {"null_rate": dist["nulls"] / total if total else 0.0}


def _rate_row(metric: str, b: Mapping | None, c: Mapping | None, key: str, tol: Tolerance) -> GateRow:
    if c is None:
        return GateRow(ITEM, metric, b[key] if b else None, None, None, "missing",
                       "in the baseline but not in this scan: was the check or metric dropped?")
    if b is None:
        return GateRow(ITEM, metric, None, c[key], None, "new", "not in the baseline; --update to accept it")
    return _metric_row(ITEM, metric, {metric: b[key]}, {metric: c[key]}, {metric: tol, "unlisted": tol}, ())


def _ks_row(name: str, b: Mapping[str, Any], c: Mapping[str, Any], settings: Mapping[str, Any]) -> GateRow:
    metric = f"{name}.ks"
    n, m = int(b.get("count") or 0), int(c.get("count") or 0)
    if not n or not m or not b.get("quantiles") or not c.get("quantiles"):
        return GateRow(ITEM, metric, None, None, None, "unchanged", "no values on one side: no test")
    d = ks_statistic(b["quantiles"], c["quantiles"])
    crit = ks_critical(n, m, settings["ks_alpha"])
    limit = max(crit, settings["ks_min_d"])
    how = (f"KS D = {d:.3f} {'>' if d > limit else '<='} {limit:.3f} (critical value {crit:.3f} at "
           f"alpha {settings['ks_alpha']:g} for n={n}, m={m}; min D {settings['ks_min_d']:g})")
    if d > limit:
        return GateRow(ITEM, metric, None, round(d, 6), None, "regressed", f"{how}: the distribution moved", limit)
    return GateRow(ITEM, metric, None, round(d, 6), None, "unchanged", how, limit)


def check_summary(data: Mapping[str, Any], where: str) -> None:
    from qa.baseline import BaselineError

    if data.get("schema") != CORPUS_SCHEMA:
        raise BaselineError(
            f"{where}: schema is {data.get('schema')!r}, expected {CORPUS_SCHEMA!r}; a run directory is gated "
            "against a corpus baseline: create one with `audio-qa gate RUN_DIR --baseline FILE --update`")
