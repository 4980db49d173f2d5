"""Prometheus text exposition (format 0.0.4) of a probe, for a node-exporter textfile collector
or a cron job: base units (seconds, ratios), ``_total`` counters, low-cardinality labels
(``target`` = the item path, ``adapter``, ``phase``, ``quantile``, ``error_class``; never a job id).

Counters stay counters across invocations: the previous file's ``_total`` samples are read back
and added to, so ``increase()`` and ``rate()`` work over a series of cron runs.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from qa.atomic import write_atomic
from qa.probe.errors import ERROR_CLASSES

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$')
_HELP = {
    "audio_qa_probe_up": ("gauge", "1 when the last probe of the service found no error in any run"),
    "audio_qa_probe_success_ratio": ("gauge", "successful runs / runs of the last probe"),
    "audio_qa_probe_phase_seconds": ("gauge", "median seconds per phase over the last probe's runs"),
    "audio_qa_probe_total_seconds": ("gauge", "quantiles of the whole journey over the last probe's successful runs"),
    "audio_qa_probe_last_run_timestamp_seconds": ("gauge", "Unix time the last probe finished"),
    "audio_qa_probe_runs_total": ("counter", "probe runs since the file was created"),
    "audio_qa_probe_errors_total": ("counter", "failed probe runs by primary error class"),
    "audio_qa_probe_http_429_total": ("counter", "429 answers the probe met (submit and poll)"),
}


def _labels(**kv: str) -> str:
    esc = {k: str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') for k, v in kv.items()}
    return "{" + ",".join(f'{k}="{v}"' for k, v in esc.items()) + "}"


def _previous_counters(path: str) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return out
    for line in lines:
        m = _SAMPLE.match(line)
        if m and m.group(1).endswith("_total"):
            try:
                out[(m.group(1), m.group(2) or "")] = float(m.group(3))
            except ValueError:
                continue
    return out


def render(items: list[dict[str, Any]], previous: dict[tuple[str, str], float] | None = None,
           now: float | None = None) -> str:
    """The exposition text for probe item dicts (``ItemResult.to_dict()``)."""
    prev = previous or {}
    samples: dict[str, list[tuple[str, float]]] = {k: [] for k in _HELP}
    for it in items:
        base = {"target": it["path"], "adapter": it.get("adapter", "?")}
        counts = it.get("counts", {})
        m = it.get("metrics", {})
        samples["audio_qa_probe_up"].append((_labels(**base), 0.0 if it.get("error_class") else 1.0))
        samples["audio_qa_probe_success_ratio"].append((_labels(**base), float(m.get("success_rate") or 0.0)))
        for phase, v in (it.get("phases") or {}).items():
            if v is not None:
                samples["audio_qa_probe_phase_seconds"].append((_labels(**base, phase=phase[:-2]), float(v)))
        for p in (50, 90, 95, 99):
            v = m.get(f"total_s_p{p}")
            if v is not None:
                samples["audio_qa_probe_total_seconds"].append((_labels(**base, quantile=str(p / 100)), float(v)))
        samples["audio_qa_probe_last_run_timestamp_seconds"].append((_labels(**base), now or time.time()))
        _count(samples, prev, "audio_qa_probe_runs_total", _labels(**base), counts.get("runs", 0))
        _count(samples, prev, "audio_qa_probe_http_429_total", _labels(**base), counts.get("http_429", 0))
        errors = counts.get("errors", {})
        for cls in ERROR_CLASSES:  # every class present from the start: absent series break increase()
            _count(samples, prev, "audio_qa_probe_errors_total", _labels(**base, error_class=cls), errors.get(cls, 0))
    lines = []
    for name, (kind, text) in _HELP.items():
        if samples[name]:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            lines += [f"{name}{labels} {_fmt(v)}" for labels, v in samples[name]]
    return "\n".join(lines) + "\n"


def _count(samples, prev, name: str, labels: str, add: float) -> None:
    samples[name].append((labels, prev.get((name, labels), 0.0) + float(add)))


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 2**53 else repr(float(v))


def write_prom(path: str | os.PathLike, items: list[dict[str, Any]]) -> None:
    """Write the exposition atomically (a collector never reads half a file)."""
    write_atomic(path, render(items, _previous_counters(os.fspath(path))))
