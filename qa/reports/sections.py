"""Table-shaped sections of the HTML report: stage tables, round-trip tables and charts, the
doctor's backend matrix and the gate's baseline deltas. Input is the (untrusted) results dict;
output is plain rows the template renders and escapes."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

from qa.reports.svg import line_chart_svg

#: Quality metrics plotted against bitrate, with their axis labels, in this order.
CHART_METRICS = {"snr_db": "SNR (dB)", "si_sdr_db": "SI-SDR (dB)", "lsd_db": "LSD (dB)",
                 "stoi": "STOI", "pesq_wb": "PESQ WB (MOS)", "visqol_moslqo": "ViSQOL (MOS-LQO)"}
STAGE_COLUMNS = ("index", "name", "shape", "dtype", "device", "layout", "peak", "rms", "dc",
                 "nonfinite", "seconds", "memory_bytes", "status")
GATE_COLUMNS = ("item", "metric", "baseline", "current", "delta", "verdict")
_BITRATE = re.compile(r":\s*(\d+(?:\.\d+)?)\s*k?(?:bps)?\s*$", re.IGNORECASE)
_VERDICT_CLASS = {"fail": "fail", "regression": "fail", "regressed": "fail", "worse": "fail",
                  "error": "error", "warn": "warn", "pass": "pass", "ok": "pass", "same": "pass",
                  "improved": "pass", "better": "pass", "unchanged": "pass", "new": "skip", "missing": "warn",
                  "skip": "skip"}


def stage_rows(stages: Any, first_bad: Any) -> list[dict[str, Any]]:
    """One row per stage record; ``first_bad`` marks the row named by ``first_bad_stage``."""
    rows = []
    for s in stages if isinstance(stages, list) else []:
        if not isinstance(s, dict):
            continue
        shape = s.get("shape")
        row = {k: s.get(k) for k in STAGE_COLUMNS}
        row["shape"] = "×".join(str(n) for n in shape) if isinstance(shape, list) else shape
        mem = s.get("memory_bytes")
        row["memory_bytes"] = f"{mem / 2**20:.1f} MiB" if isinstance(mem, (int, float)) else mem
        row["first_bad"] = first_bad is not None and s.get("name") == first_bad
        row["messages"] = [str(c.get("message", "")) for c in s.get("checks") or []
                           if isinstance(c, dict) and c.get("status") in ("warn", "fail", "error")]
        rows.append(row)
    return rows


def bitrate_kbps(codec: Any) -> float | None:
    """The bitrate in a codec spec such as "mp3:128" or "opus:64k"; None for "flac" or "pcm_s16"."""
    m = _BITRATE.search(str(codec or ""))
    return float(m.group(1)) if m else None


def roundtrip_groups(views: list[dict]) -> list[dict[str, Any]]:
    """Round trips grouped by source file: a table row per codec and a chart per quality metric."""
    groups: dict[str, list[dict]] = {}
    for v in views:
        groups.setdefault(v["path"], []).append(v)
    out = []
    for path, vs in groups.items():
        names = list(dict.fromkeys(k for v in vs for k in v["raw_metrics"]))
        rows = [{"codec": str(v["codec"]), "status": v["status"], "anchor": v["anchor"],
                 "cells": [v["raw_metrics"].get(n) for n in names]} for v in vs]
        charts: list[Markup] = []
        unplotted = sorted({str(v["codec"]) for v in vs if bitrate_kbps(v["codec"]) is None})
        for metric, label in CHART_METRICS.items():
            series: dict[str, tuple[list, list]] = {}
            for v in vs:
                kbps, val = bitrate_kbps(v["codec"]), v["raw_metrics"].get(metric)
                if kbps is None or not isinstance(val, (int, float)) or isinstance(val, bool):
                    continue
                family = str(v["codec"]).split(":", 1)[0]
                series.setdefault(family, ([], []))
                series[family][0].append(kbps)
                series[family][1].append(float(val))
            if series:
                charts.append(line_chart_svg([(f, xs, ys) for f, (xs, ys) in series.items()],
                                             x_label="bitrate (kbit/s)", y_label=label,
                                             title=f"{label} vs bitrate"))
        out.append({"path": path, "metric_names": names, "rows": rows, "charts": charts,
                    "unplotted": unplotted})
    return out


def backend_matrix(views: list[dict]) -> dict[str, Any] | None:
    """Backends as rows, check ids as columns, each cell the check (status, value, message)."""
    if not views:
        return None
    columns = list(dict.fromkeys(str(c.get("id")) for v in views for c in v["checks"]))
    rows = []
    for v in views:
        by_id = {str(c.get("id")): c for c in v["checks"]}
        rows.append({"name": v["path"], "status": v["status"], "anchor": v["anchor"],
                     "cells": [by_id.get(c) for c in columns]})
    return {"columns": columns, "rows": rows}


def gate_table(gate: Any) -> dict[str, Any]:
    """The gate's baseline deltas: its scalar fields, and its rows (the first list of objects in
    it, or the gate itself when it is a list) with the contract's columns first."""
    rows_src: list = []
    scalars: list[tuple[str, str]] = []
    if isinstance(gate, list):
        rows_src = gate
    elif isinstance(gate, dict):
        for k, v in gate.items():
            if not rows_src and isinstance(v, list) and v and all(isinstance(r, dict) for r in v):
                rows_src = v
            elif not isinstance(v, (list, dict)):
                scalars.append((str(k), str(v)))
    rows_src = [r for r in rows_src if isinstance(r, dict)]
    cols = [c for c in GATE_COLUMNS if any(c in r for r in rows_src)]
    cols += [c for c in dict.fromkeys(str(k) for r in rows_src for k in r) if c not in cols]
    rows = [{"cells": [r.get(c) for c in cols],
             "cls": _VERDICT_CLASS.get(str(r.get("verdict", r.get("status", ""))).lower(), ""),
             # unchanged rows fold away so the regressions are what the reader sees first
             "unchanged": str(r.get("verdict", "")).lower() == "unchanged"}
            for r in rows_src]
    return {"scalars": scalars, "columns": cols, "rows": rows}


def verdict_class(v: Any) -> str:
    return _VERDICT_CLASS.get(str(v).lower(), "")


def probe_view(item: dict[str, Any]) -> dict[str, Any]:
    """A probe item's verdict, phase timings (seconds, with where each came from), counts and
    one row per run."""
    phases = item.get("phases") if isinstance(item.get("phases"), dict) else {}
    runs = [r for r in item.get("runs") or [] if isinstance(r, dict)]
    sources: dict[str, set] = {}
    for r in runs:
        for k, v in (r.get("phase_source") or {}).items():
            sources.setdefault(str(k), set()).add(str(v))
    counts = item.get("counts") if isinstance(item.get("counts"), dict) else {}
    return {
        "error_class": item.get("error_class"), "adapter": item.get("adapter"),
        "phases": [(str(k), v, ", ".join(sorted(sources.get(str(k), ())))) for k, v in phases.items()],
        "counts": [(str(k), v) for k, v in counts.items() if not isinstance(v, (dict, list))],
        "errors": counts.get("errors") if isinstance(counts.get("errors"), dict) else {},
        "runs": [{"index": r.get("index"), "error_class": r.get("error_class"),
                  "total_s": (r.get("phases") or {}).get("total_s"), "message": r.get("message") or ""}
                 for r in runs],
    }
