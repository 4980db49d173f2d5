"""``RUN_DIR/summary.json`` (``audio-qa.corpus/1``): a finished scan reduced to what a release
gate and a reader need, whatever the number of files.

Per check: ``fail`` (fail or error), ``error``, ``warn`` counts and their rates over all files.
Per metric (scalar metrics only): ``count`` (files with a value), ``nulls``, ``min``, ``max``,
the percentiles ``p1`` ... ``p99`` (linear interpolation between order statistics), and
``quantiles``: 101 evenly spaced quantiles (0 %, 1 %, ..., 100 %) that the corpus gate's
two-sample test reads instead of the rows. Per check the ``worst`` files: errors first, then
fails, then warnings, each ordered by how far the value lies past the threshold.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Iterable, Mapping

import numpy as np

CORPUS_SCHEMA = "audio-qa.corpus/1"
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
#: Files listed per check in ``worst``.
WORST_PER_CHECK = 10
_SEVERITY = {"error": 3, "fail": 2, "warn": 1}


def summarize_rows(rows: Iterable[Mapping[str, Any]], *, profile: str, fingerprint: str,
                   worst_per_check: int = WORST_PER_CHECK) -> dict[str, Any]:
    from qa import __version__

    files = 0
    audio_s = 0.0
    statuses: dict[str, int] = defaultdict(int)
    checks: dict[str, dict[str, int]] = defaultdict(lambda: {"fail": 0, "error": 0, "warn": 0})
    values: dict[str, list[float]] = defaultdict(list)
    nulls: dict[str, int] = defaultdict(int)
    worst: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        files += 1
        statuses[str(row.get("status"))] += 1
        sr, frames = row.get("sample_rate"), row.get("frames")
        if isinstance(sr, int) and isinstance(frames, int) and sr > 0:
            audio_s += frames / sr
        for name, v in (row.get("metrics") or {}).items():
            if v is None:
                nulls[name] += 1
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                values[name].append(float(v))
        for c in row.get("checks") or []:
            cid, st = c["id"], c["status"]
            counts = checks[cid]
            if st in _SEVERITY:
                counts["fail" if st in ("fail", "error") else "warn"] += 1
                if st == "error":
                    counts["error"] += 1
                worst[cid].append((_SEVERITY[st], _excess(c), row.get("path"), c))
    return {
        "schema": CORPUS_SCHEMA,
        "tool": {"name": "audio-qa", "version": __version__},
        "profile": profile,
        "plan": fingerprint,
        "files": files,
        "audio_hours": round(audio_s / 3600, 6),
        "statuses": {s: statuses.get(s, 0) for s in ("pass", "warn", "fail", "error")},
        "checks": {cid: {**c, "fail_rate": _rate(c["fail"], files), "warn_rate": _rate(c["warn"], files)}
                   for cid, c in sorted(checks.items())},
        "metrics": {name: distribution(values.get(name, []), nulls.get(name, 0))
                    for name in sorted(set(values) | set(nulls))},
        "worst": {cid: [_worst_row(w) for w in sorted(ws, key=lambda w: (-w[0], -w[1], str(w[2])))[:worst_per_check]]
                  for cid, ws in sorted(worst.items())},
    }


def distribution(values: list[float], nulls: int) -> dict[str, Any]:
    """Count, nulls, min, max, percentiles and the 101 stored quantiles of ``values``."""
    d: dict[str, Any] = {"count": len(values), "nulls": nulls}
    if not values:
        d.update({"min": None, "max": None, **{f"p{p}": None for p in PERCENTILES}, "quantiles": []})
        return d
    a = np.asarray(values, dtype=np.float64)
    q = np.percentile(a, np.arange(101))
    d.update({"min": float(a.min()), "max": float(a.max()),
              **{f"p{p}": float(q[p]) for p in PERCENTILES},
              "quantiles": [float(x) for x in q]})
    return d


def _rate(n: int, files: int) -> float:
    return n / files if files else 0.0


def _excess(c: Mapping[str, Any]) -> float:
    v, t = c.get("value"), c.get("threshold")
    if isinstance(v, (int, float)) and isinstance(t, (int, float)) and math.isfinite(v - t):
        return abs(float(v) - float(t))
    return 0.0


def _worst_row(w: tuple) -> dict[str, Any]:
    c = w[3]
    return {"path": w[2], "status": c["status"], "value": c.get("value"),
            "threshold": c.get("threshold"), "unit": c.get("unit"), "message": c.get("message")}
