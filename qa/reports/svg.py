"""Small inline-SVG charts for the HTML report: waveform envelope, per-stage levels, line charts,
loudness over time.

SVG rather than PNG because it is a few kilobytes, scales with the page and takes its colours
from the page's CSS (so light and dark mode both work). Every piece of text that reaches an SVG
comes from the results and is escaped with :func:`markupsafe.escape`; the functions return
:class:`markupsafe.Markup` so the template inserts them as they are.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from markupsafe import Markup, escape

#: Levels below this are drawn at the floor of the level charts (dBFS).
LEVEL_FLOOR_DB = -120.0


def envelope(samples: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of each of ``columns`` equal slices of each channel: (C, W) arrays.

    ``samples`` is (channels, frames); W is ``min(columns, frames)``. Slice ``j`` covers frames
    ``[j*N//W, (j+1)*N//W)``, so every sample lands in exactly one column and a single clipped
    sample still shows. Memory is O(C*W) beyond the input.
    """
    n = samples.shape[1]
    if n == 0:
        raise ValueError("envelope of zero frames: there is no waveform to draw")
    w = max(1, min(int(columns), n))
    starts = (np.arange(w, dtype=np.int64) * n) // w
    return np.minimum.reduceat(samples, starts, axis=1), np.maximum.reduceat(samples, starts, axis=1)


def waveform_svg(mins: np.ndarray, maxs: np.ndarray, duration_s: float, *, lane_height: int = 64) -> Markup:
    """One lane per channel: the min/max band per pixel column, full-scale lines dashed at +-1."""
    c, w = mins.shape
    scale = max(1.0, float(np.max(np.abs(np.concatenate([mins, maxs], axis=1)))))
    height = c * lane_height + 18
    parts = [f'<svg class="wave" viewBox="0 0 {w} {height}" preserveAspectRatio="none" role="img" '
             f'aria-label="waveform envelope, {c} channel(s)">']
    x = np.arange(w, dtype=np.float64) + 0.5
    for ch in range(c):
        mid = ch * lane_height + lane_height / 2
        half = lane_height / 2 - 2
        top = mid - maxs[ch] / scale * half
        bot = mid - mins[ch] / scale * half
        # a band at least one unit thick, so digital silence is still a visible line
        bot = np.maximum(bot, top + 0.5)
        pts = np.concatenate([np.stack([x, top], 1), np.stack([x[::-1], bot[::-1]], 1)])
        d = "M" + "L".join(f"{px:.1f},{py:.1f}" for px, py in pts) + "Z"
        fs = half / scale
        parts.append(f'<line class="fs" x1="0" x2="{w}" y1="{mid - fs:.1f}" y2="{mid - fs:.1f}"/>'
                     f'<line class="fs" x1="0" x2="{w}" y1="{mid + fs:.1f}" y2="{mid + fs:.1f}"/>'
                     f'<path class="band" d="{d}"/>')
    for t in nice_ticks(0.0, duration_s, 8):
        px = t / duration_s * w if duration_s > 0 else 0
        parts.append(f'<text class="tick" x="{px:.1f}" y="{height - 4}">{escape(fmt_seconds(t))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def stage_levels_svg(stages: Sequence[dict], first_bad: str | None) -> Markup:
    """Peak and RMS (dBFS) per stage, in pipeline order. A silent stage sits on the floor with a
    "silent" label; a stage with non-finite samples is marked "NaN/Inf"; the first bad stage
    is outlined, so where the signal died is visible at a glance."""
    n = len(stages)
    w, h, left, bottom, top = max(360, 110 * n), 220, 48, 46, 12
    plot_w, plot_h = w - left - 10, h - bottom - top
    lo, hi = LEVEL_FLOOR_DB, 6.0

    def y(db: float) -> float:
        return top + (hi - max(lo, min(hi, db))) / (hi - lo) * plot_h

    parts = [f'<svg class="chart stages" viewBox="0 0 {w} {h}" role="img" aria-label="peak and RMS per stage">']
    for g in range(0, int(lo) - 1, -20):
        parts.append(f'<line class="grid" x1="{left}" x2="{w - 10}" y1="{y(g):.1f}" y2="{y(g):.1f}"/>'
                     f'<text class="tick" x="{left - 4}" y="{y(g) + 4:.1f}" text-anchor="end">{g}</text>')
    parts.append(f'<text class="axis" x="4" y="{top + 4}">dBFS</text>')
    slot = plot_w / max(n, 1)
    for i, s in enumerate(stages):
        cx = left + slot * (i + 0.5)
        bad = s.get("name") == first_bad and first_bad is not None
        if bad:
            parts.append(f'<rect class="firstbad" x="{cx - slot / 2 + 2:.1f}" y="{top}" '
                         f'width="{slot - 4:.1f}" height="{plot_h}"/>')
        for key, cls, dx in (("peak", "peak", -14), ("rms", "rms", 2)):
            v = _num(s.get(key))
            if v is None:
                continue
            db = 20 * math.log10(abs(v)) if v != 0 else -math.inf
            yy = y(db)
            parts.append(f'<rect class="{cls}" x="{cx + dx:.1f}" y="{yy:.1f}" width="12" '
                         f'height="{top + plot_h - yy:.1f}"><title>{escape(s.get("name", ""))} {key}: '
                         f'{escape(_fmt_db(db))}</title></rect>')
        label = None
        if (_num(s.get("nonfinite")) or 0) > 0:
            label = "NaN/Inf"
        elif _num(s.get("peak")) == 0:
            label = "silent"
        if label:
            parts.append(f'<text class="alarm" x="{cx:.1f}" y="{top + plot_h - 6:.1f}" text-anchor="middle">{label}</text>')
        name = str(s.get("name", f"#{i}"))
        parts.append(f'<text class="tick" x="{cx:.1f}" y="{h - bottom + 16}" text-anchor="middle">'
                     f'{escape(name[:18])}</text>')
    parts.append(f'<rect class="peak" x="{left}" y="{h - 16}" width="10" height="10"/>'
                 f'<text class="tick" x="{left + 14}" y="{h - 7}">peak</text>'
                 f'<rect class="rms" x="{left + 60}" y="{h - 16}" width="10" height="10"/>'
                 f'<text class="tick" x="{left + 74}" y="{h - 7}">RMS</text></svg>')
    return Markup("".join(parts))


def line_chart_svg(series: Sequence[tuple[str, Sequence[float], Sequence[float]]], *, x_label: str,
                   y_label: str, title: str, width: int = 420, height: int = 240) -> Markup:
    """Lines with markers, one per (label, xs, ys) series; linear axes fitted to the data."""
    xs = [x for _, sx, _ in series for x in sx]
    ys = [v for _, _, sy in series for v in sy]
    left, right, top, bottom = 52, 110, 24, 34
    pw, ph = width - left - right, height - top - bottom
    x0, x1 = _span(xs)
    y0, y1 = _span(ys)

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(v: float) -> float:
        return top + (y1 - v) / (y1 - y0) * ph

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<text class="title" x="{left}" y="14">{escape(title)}</text>']
    for t in nice_ticks(y0, y1, 5):
        parts.append(f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{py(t):.1f}" y2="{py(t):.1f}"/>'
                     f'<text class="tick" x="{left - 4}" y="{py(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    for t in nice_ticks(x0, x1, 6):
        parts.append(f'<text class="tick" x="{px(t):.1f}" y="{top + ph + 14}" text-anchor="middle">{t:g}</text>')
    parts.append(f'<text class="axis" x="{left + pw / 2:.0f}" y="{height - 4}" text-anchor="middle">{escape(x_label)}</text>'
                 f'<text class="axis" x="4" y="{top - 4}">{escape(y_label)}</text>')
    for k, (label, sx, sy) in enumerate(series):
        cls = f"s{k % 6}"
        pts = sorted(zip(sx, sy))
        if len(pts) > 1:
            d = "M" + "L".join(f"{px(a):.1f},{py(b):.1f}" for a, b in pts)
            parts.append(f'<path class="line {cls}" d="{d}"/>')
        for a, b in pts:
            parts.append(f'<circle class="dot {cls}" cx="{px(a):.1f}" cy="{py(b):.1f}" r="3">'
                         f'<title>{escape(label)}: {a:g}, {b:.4g}</title></circle>')
        ly = top + 12 + 14 * k
        parts.append(f'<circle class="dot {cls}" cx="{left + pw + 12}" cy="{ly - 4}" r="4"/>'
                     f'<text class="tick" x="{left + pw + 20}" y="{ly}">{escape(label[:14])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def loudness_svg(momentary: np.ndarray, short_term: np.ndarray, duration_s: float, *,
                 integrated_lufs: float | None = None, target_lufs: float | None = None,
                 columns: int = 800, empty_message: str = "no loudness above -70 LUFS "
                 "(silent or shorter than 400 ms)") -> Markup:
    """Momentary and short-term loudness (LUFS) against time (s): (n, 2) arrays of
    [t_end_seconds, lufs], rows 100 ms apart, gated rows absent (a missing stretch is a gap in
    the line, not a straight join). The integrated loudness is a dotted line, ``target_lufs`` a
    dashed line, each labelled. A series longer than ``columns`` points is reduced to the min
    and max of each pixel column, so the size stays bounded for hour-long files."""
    left, top, w, h = 56, 22, int(columns), 200
    series = [np.asarray(a, dtype=np.float64).reshape(-1, 2) for a in (momentary, short_term)]
    levels = [v for a in series if len(a) for v in (a[:, 1].min(), a[:, 1].max())]
    levels += [v for v in (integrated_lufs, target_lufs) if v is not None]
    lo, hi = (min(levels), max(levels)) if levels else (-40.0, 0.0)
    step = _tick_step(max(hi - lo, 6.0), 5)
    y0, y1 = math.floor((lo - 1.0) / step) * step, math.ceil((hi + 1.0) / step) * step
    dur = duration_s if duration_s > 0 else 1.0

    def px(t: np.ndarray | float):
        return left + np.clip(np.asarray(t) / dur, 0.0, 1.0) * w

    def py(v: np.ndarray | float):
        return top + (y1 - np.asarray(v)) / (y1 - y0) * h

    parts = [f'<svg class="loud" viewBox="0 0 {left + w + 20} {top + h + 38}" role="img" '
             f'aria-label="loudness over time, LUFS">']
    for t in nice_ticks(y0, y1, 5):
        parts.append(f'<line class="grid" x1="{left}" x2="{left + w}" y1="{py(t):.1f}" y2="{py(t):.1f}"/>'
                     f'<text class="tick" x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    for t in nice_ticks(0.0, duration_s, 8):
        parts.append(f'<text class="tick" x="{px(t):.1f}" y="{top + h + 16}" text-anchor="middle">'
                     f'{escape(fmt_seconds(t))}</text>')
    parts.append('<text class="axis" x="2" y="12">LUFS</text>')
    for a, cls in zip(series, ("mom", "st")):
        d = _gapped_path(a, px, py, w)
        if d:
            parts.append(f'<path class="{cls}" d="{d}"/>')
    legend = [("mom", "momentary (400 ms)"), ("st", "short-term (3 s)")]
    # the target's label sits above its line at the right, the integrated one's below at the left,
    # so the two never collide when the loudness is on target
    for v, cls, text, x, dy, anchor in (
            (integrated_lufs, "integ", f"integrated {integrated_lufs or 0:.1f} LUFS", left + 4, 13, "start"),
            (target_lufs, "target", f"limit {target_lufs or 0:g} LUFS", left + w - 4, -4, "end")):
        if v is None:
            continue
        parts.append(f'<line class="{cls}" x1="{left}" x2="{left + w}" y1="{py(v):.1f}" y2="{py(v):.1f}"/>'
                     f'<text class="{cls}-label" x="{x}" y="{py(v) + dy:.1f}" '
                     f'text-anchor="{anchor}">{escape(text)}</text>')
        legend.append((cls, text))
    if not any(len(a) for a in series):
        parts.append(f'<text class="tick" x="{left + w / 2:.0f}" y="{top + h / 2:.0f}" '
                     f'text-anchor="middle">{escape(empty_message)}</text>')
    x = left
    for cls, label in legend:
        parts.append(f'<line class="{cls}" x1="{x}" x2="{x + 18}" y1="{top + h + 30}" y2="{top + h + 30}"/>'
                     f'<text class="tick" x="{x + 22}" y="{top + h + 34}">{escape(label)}</text>')
        x += 30 + 6.5 * len(label)
    parts.append("</svg>")
    return Markup("".join(parts))


def _gapped_path(a: np.ndarray, px, py, columns: int) -> str:
    """SVG path data of [t, v] rows: a new subpath after a gap wider than 1.5 row steps, and at
    most two points (min, max) per pixel column."""
    if len(a) == 0:
        return ""
    t, v = a[:, 0], a[:, 1]
    dt = np.diff(t)
    step = float(np.median(dt)) if len(dt) else 0.0
    starts = np.concatenate([[0], np.flatnonzero(dt > 1.5 * step) + 1]) if step > 0 else np.array([0])
    out = []
    for seg_t, seg_v in zip(np.split(t, starts[1:]), np.split(v, starts[1:])):
        x = px(seg_t)
        if len(x) > 2 * columns:
            col = np.floor(x).astype(np.int64)
            first = np.concatenate([[0], np.flatnonzero(np.diff(col)) + 1])
            mins, maxs = np.minimum.reduceat(seg_v, first), np.maximum.reduceat(seg_v, first)
            x = np.repeat(col[first] + 0.5, 2)
            seg_v = np.stack([maxs, mins], 1).ravel()  # up then down: louder is higher on the page
        y = py(seg_v)
        pts = "L".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y))
        out.append("M" + pts + ("h0" if len(x) == 1 else ""))  # h0: a lone point still has a round cap
    return "".join(out)


def _tick_step(span: float, n: int) -> float:
    """The 1, 2 or 5 x 10^k step that cuts ``span`` into at most ``n`` intervals."""
    raw = span / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def _span(v: Sequence[float]) -> tuple[float, float]:
    lo, hi = float(min(v)), float(max(v))
    if hi - lo < 1e-9:
        pad = abs(lo) * 0.1 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def nice_ticks(lo: float, hi: float, n: int) -> list[float]:
    """"Nice" tick values (1, 2, 5 x 10^k steps) inside [lo, hi]."""
    if not hi > lo:
        return [lo]
    step = _tick_step(hi - lo, n)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _num(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def fmt_seconds(t: float) -> str:
    return f"{t:g} s" if t < 60 else f"{int(t // 60)}:{t % 60:04.1f}"


def _fmt_db(db: float) -> str:
    return "-inf dBFS (silent)" if db == -math.inf else f"{db:.1f} dBFS"
