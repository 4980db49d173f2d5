"""Quality versus bitrate of codec round trips, as a PNG (matplotlib, Agg backend)."""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any, Iterable

from qa.codecs import nominal_kbps


def _rows(items_or_rows: Iterable[Any]) -> list[dict]:
    """Rows ``{"codec", "kbps", <metrics>...}`` from round-trip ItemResults, their dicts, or rows."""
    rows = []
    for it in items_or_rows:
        d = it.to_dict() if hasattr(it, "to_dict") else dict(it)
        if "codec" not in d:
            continue
        kbps = d.get("kbps", d.get("encoded_kbps")) or nominal_kbps(d["codec"])
        rows.append({"codec": d["codec"], "kbps": kbps, **d.get("metrics", {}),
                     **{k: v for k, v in d.items() if k not in ("metrics", "codec", "kbps")}})
    return rows


def plot_quality_vs_bitrate(items_or_rows: Iterable[Any], metric: str | None = None) -> bytes:
    """A line per codec family (mp3, opus, ffmpeg:aac, ...): ``metric`` against the measured
    bitrate (kbit/s, log axis). ``metric`` defaults to visqol_moslqo when any row has it, else
    snr_db. Rows without a bitrate or a value are left out (the title says how many)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _rows(items_or_rows)
    if metric is None:
        metric = "visqol_moslqo" if any(r.get("visqol_moslqo") is not None for r in rows) else "snr_db"
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    left_out = 0
    for r in rows:
        fam = ":".join(r["codec"].split(":")[:2]) if r["codec"].startswith("ffmpeg:") else r["codec"].split(":")[0]
        if r.get("kbps") is None or r.get(metric) is None:
            left_out += 1
            continue
        series[fam].append((float(r["kbps"]), float(r[metric])))
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for fam, pts in sorted(series.items()):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=fam)
    ax.set_xscale("log")
    ax.set_xlabel("bitrate (kbit/s, measured)")
    ax.set_ylabel(metric)
    title = f"{metric} vs bitrate"
    if left_out:
        title += f" ({left_out} point(s) without bitrate or value left out)"
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
