"""The corpus page of a scan (``audio-qa report RUN_DIR``): one self-contained HTML file.

Histograms of the key metrics over every file, with the thresholds the checks applied drawn on
them (read from the rows' own checks, so they are the profile's as the scan used it); per check
the fail and warn counts and the worst files; and full item cards (player, waveform,
spectrogram, loudness curve) for the first :data:`CARDS` worst files, drawn by
:mod:`qa.reports`. Its size does not grow with the corpus: the histograms have a fixed number of
bins, the tables :data:`qa.scan.summary.WORST_PER_CHECK` rows per check, and embedded audio
stays within the per-report budget of :mod:`qa.reports.html` (4 MB).
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
from markupsafe import Markup, escape

from qa.reports.html import EMBED_AUDIO_BYTES, EMBED_AUDIO_TOTAL, _env, _item_view
from qa.reports.svg import nice_ticks
from qa.scan.store import RunDir

#: Histogrammed metrics and the check whose threshold is drawn on each (same unit as the value).
KEY_METRICS = {
    "integrated_lufs": "loudness_target", "true_peak_dbtp": "true_peak", "crest_db": "over_compression",
    "plr_db": None, "lra_lu": None, "clipped_fraction": "clipping", "bandwidth_hz": "bandwidth",
    "lr_correlation": "phase", "spectral_flatness": "noise_like", "longest_dropout_s": "dropout",
}
BINS = 40
#: Worst files drawn as full item cards.
CARDS = 6
#: Distinct thresholds drawn per histogram (a profile has a warn and a fail level at most).
MAX_LINES = 3


def write_corpus_html(run_dir: RunDir, path: str | os.PathLike, **kw: Any) -> None:
    """Render and write atomically (audio links relative to the page's folder)."""
    from qa.atomic import write_atomic

    write_atomic(path, render_corpus_html(run_dir, out_dir=Path(path).resolve().parent, **kw))


def render_corpus_html(run_dir: RunDir, *, out_dir: str | os.PathLike = ".", figures: bool = True,
                       search_dirs: Iterable[str | os.PathLike] = (".",)) -> str:
    import json

    with open(run_dir.summary_path, encoding="utf-8") as f:
        summary = json.load(f)
    plan = run_dir.load_plan()
    card_paths = _card_paths(summary)
    values: dict[str, list[float]] = defaultdict(list)
    thresholds: dict[str, set[float]] = defaultdict(set)
    card_rows: dict[str, dict] = {}
    for row in run_dir.iter_rows(plan):
        _collect(row, values, thresholds)
        if row.get("path") in card_paths:
            card_rows[row["path"]] = row
    budget = [EMBED_AUDIO_TOTAL]
    cards = [_item_view(i, card_rows[p], Path(out_dir).resolve(), [Path(d) for d in search_dirs],
                        EMBED_AUDIO_BYTES, budget, figures)
             for i, p in enumerate(card_paths) if p in card_rows]
    anchors = {c["path"]: c["anchor"] for c in cards}
    histograms = [histogram_svg(name, values[name], sorted(thresholds[name])[:MAX_LINES], KEY_METRICS[name])
                  for name in KEY_METRICS if values.get(name)]
    checks = [{"id": cid, **c, "worst": [{**w, "anchor": anchors.get(w["path"])}
                                          for w in summary["worst"].get(cid, [])]}
              for cid, c in summary["checks"].items() if c["fail"] or c["warn"]]
    checks.sort(key=lambda c: (-c["fail"], -c["warn"], c["id"]))
    status = "fail" if summary["statuses"]["fail"] or summary["statuses"]["error"] else (
        "warn" if summary["statuses"]["warn"] else "pass")
    return _env().get_template("corpus.html.j2").render(
        summary=summary, status=status, checks=checks, histograms=histograms, cards=cards,
        run_dir=run_dir.path, percentiles=[f"p{p}" for p in (1, 5, 25, 50, 75, 95, 99)],
        metric_rows=[(n, d) for n, d in summary["metrics"].items() if d["count"]])


def _card_paths(summary: Mapping[str, Any]) -> list[str]:
    """The first :data:`CARDS` distinct readable worst files, most severe checks first."""
    ranked = []
    for cid, ws in summary["worst"].items():
        c = summary["checks"][cid]
        for k, w in enumerate(ws):
            ranked.append((k, -c["fail"], cid, w))
    out: list[str] = []
    unreadable = {w["path"] for w in summary["worst"].get("readable", [])}
    for *_, w in sorted(ranked, key=lambda r: (r[0], r[1], r[2])):
        if w["path"] not in out and w["path"] not in unreadable and len(out) < CARDS:
            out.append(w["path"])
    return out


def _collect(row: Mapping[str, Any], values: dict, thresholds: dict) -> None:
    metrics = row.get("metrics") or {}
    by_id = {c["id"]: c for c in row.get("checks") or []}
    for name, check_id in KEY_METRICS.items():
        v = metrics.get(name)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            values[name].append(float(v))
        c = by_id.get(check_id) if check_id else None
        if c and c.get("status") in ("pass", "warn", "fail") and isinstance(c.get("threshold"), (int, float)) \
                and c.get("value") == v and len(thresholds[name]) < 16:
            thresholds[name].add(float(c["threshold"]))


def histogram_svg(name: str, values: list[float], lines: list[float], check_id: str | None, *,
                  width: int = 420, height: int = 200) -> Markup:
    """Counts of ``values`` in :data:`BINS` bins over their range (thresholds widen it), with the
    thresholds as dashed vertical lines."""
    a = np.asarray(values, dtype=np.float64)
    lo, hi = float(min(a.min(), *lines)) if lines else float(a.min()), float(max(a.max(), *lines)) if lines else float(a.max())
    if hi - lo <= 0:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(a, bins=BINS, range=(lo, hi))
    left, right, top, bottom = 44, 10, 22, 30
    pw, ph = width - left - right, height - top - bottom
    peak = max(int(counts.max()), 1)

    def px(x: float) -> float:
        return left + (x - lo) / (hi - lo) * pw

    title = f"{name} ({a.size} files)"
    parts = [f'<svg class="chart hist" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'data-metric="{escape(name)}">', f'<text class="title" x="{left}" y="14">{escape(title)}</text>']
    for t in nice_ticks(0, peak, 4):
        y = top + ph - t / peak * ph
        parts.append(f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{t:g}</text>')
    for n, x0, x1 in zip(counts, edges[:-1], edges[1:]):
        if n:
            h = n / peak * ph
            parts.append(f'<rect class="bar" x="{px(x0):.1f}" y="{top + ph - h:.1f}" width="{max(px(x1) - px(x0) - 1, 1):.1f}" '
                         f'height="{h:.1f}"><title>{x0:.4g} to {x1:.4g}: {n}</title></rect>')
    for t in nice_ticks(lo, hi, 5):
        parts.append(f'<text class="tick" x="{px(t):.1f}" y="{top + ph + 14}" text-anchor="middle">{t:g}</text>')
    for k, t in enumerate(lines):
        x = px(t)
        flip = x > left + 0.6 * pw  # labels near the right edge run leftwards so they stay inside
        anchor = "end" if flip else "start"
        parts.append(f'<line class="target" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}"/>'
                     f'<text class="target-label" x="{x - 3 if flip else x + 3:.1f}" y="{top + 10 + 11 * k}" '
                     f'text-anchor="{anchor}">{escape(check_id or "")} {t:g}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
