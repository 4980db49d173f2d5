"""The short human summary printed when no JSON goes to stdout."""

from __future__ import annotations

from collections import Counter

from qa.results import ItemResult, Report, shown

_MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "error": "ERROR", "skip": "skip"}


def item_lines(item: ItemResult, *, verbose: bool = False) -> list[str]:
    head = f"{_MARK[item.status]:5s} {shown(item.path)}"
    if item.sample_rate:
        head += f"  ({item.sample_rate} Hz, {item.channels} ch, {item.frames / item.sample_rate:.2f} s)"
    lines = [head]
    for c in item.checks:
        if c.status in ("fail", "error", "warn") or verbose:
            lines.append(f"      {_MARK[c.status]:5s} {c.id}: {shown(c.message)}")
            if c.hint and c.status in ("fail", "error", "warn"):
                lines.append(f"            hint: {shown(c.hint)}")
    for n in item.notes if verbose else ():
        lines.append(f"      note: {shown(n)}")
    return lines


def summarize(report: Report, *, verbose: bool = False) -> str:
    lines: list[str] = []
    for item in report.items:
        lines.extend(item_lines(item, verbose=verbose))
    counts = Counter(i.status for i in report.items)
    parts = [f"{counts[s]} {s}" for s in ("pass", "warn", "fail", "error") if counts[s]]
    lines.append(f"{len(report.items)} item(s): {', '.join(parts) or 'none'} -> {report.status.upper()}")
    return "\n".join(lines)


def metrics_table(item: ItemResult) -> list[str]:
    lines = [f"{_MARK[item.status]:5s} {shown(item.path)}"]
    for k, v in item.metrics.items():
        if isinstance(v, float):
            txt = f"{v:.6g}"
        elif isinstance(v, list):
            txt = f"[{len(v)} points]"
        else:
            txt = "null" if v is None else str(v)
        lines.append(f"      {k:24s} {txt}")
    for n in item.notes:
        lines.append(f"      note: {shown(n)}")
    return lines
