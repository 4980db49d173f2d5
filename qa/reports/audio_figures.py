"""The pictures of one audio file: waveform envelope, spectrogram and loudness curve.

Each figure is built from the shared metric modules (``qa.metrics.spectral.log_spectrogram`` and
``qa.metrics.loudness.measure_loudness``); when one of them is not installed, or a figure cannot
be made, the card says so in a note instead of leaving a silent gap. Charts are inline SVG and
the spectrogram image a base64 PNG inside SVG, so the report stays one file. The loudness curve
reuses the series an item's results already carry (``measure --series``) and otherwise measures
without the true peak, which the curve does not show.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from markupsafe import Markup, escape

from qa.audio import Audio
from qa.reports.svg import envelope, fmt_seconds, loudness_svg, nice_ticks, waveform_svg

#: Pixel columns of the waveform envelope and the spectrogram image (one laptop-width card).
COLUMNS = 800
#: Frequency rows of the spectrogram and the dB range shown below its maximum.
SPEC_BINS = 160
SPEC_RANGE_DB = 90.0


@dataclass
class Figures:
    """Inline figures (``Markup``) for one item, plus notes on the ones that could not be made."""

    waveform: Markup | None = None
    spectrogram: Markup | None = None
    loudness: Markup | None = None
    #: the loop-distance and tempo curves, drawn only when repetition / tempo_drift warn or fail
    song: list[Markup] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def audio_figures(audio: Audio, *, target_lufs: float | None = None,
                  metrics: dict[str, Any] | None = None, flagged: frozenset[str] = frozenset()) -> Figures:
    """Every figure of ``audio``; ``metrics`` is the item's results metrics (its loudness series
    and integrated loudness are drawn as they are when present) and ``target_lufs`` the target
    line of the loudness chart. ``flagged`` are the ids of the item's checks that warned or
    failed: ``repetition`` and ``tempo_drift`` add their curves."""
    figs = Figures()
    mins, maxs = envelope(audio.samples, COLUMNS)
    figs.waveform = waveform_svg(mins, maxs, audio.duration_s)
    mono = audio.mono()
    figs.spectrogram = _spectrogram(mono, audio.sample_rate, figs.notes)
    figs.loudness = _loudness(audio, target_lufs, metrics or {}, figs.notes)
    if flagged & {"repetition", "tempo_drift"}:
        figs.song = song_curves(audio, flagged)
    return figs


def song_curves(audio: Audio, flagged: frozenset[str]) -> list[Markup]:
    """The loop's band-level difference one period apart over time (near 0 dB where the audio
    repeats itself) and the local tempo over time, for the song checks that flagged the file."""
    from qa.metrics.song import song_metrics
    from qa.reports.svg import line_chart_svg

    s = song_metrics(audio.samples, audio.sample_rate)
    out = []
    if "repetition" in flagged and s.loop.curve:
        t, d = zip(*s.loop.curve)
        out.append(line_chart_svg([("difference", t, d)], x_label="time (s)", y_label="dB",
                                  title=f"band-level difference {s.loop.period_s:.2f} s apart "
                                  "(near 0 = a loop)", width=800))
    if "tempo_drift" in flagged and s.tempo.periods_s:
        out.append(line_chart_svg([("local BPM", s.tempo.times_s,
                                    [60.0 / p for p in s.tempo.periods_s])], x_label="time (s)",
                                  y_label="BPM", title="tempo curve (8 s windows)", width=800))
    return out


def _spectrogram(mono: np.ndarray, sr: int, notes: list[str]) -> Markup | None:
    try:
        from qa.metrics.spectral import log_spectrogram
    except ModuleNotFoundError as e:
        if e.name not in ("qa.metrics.spectral",):
            raise
        notes.append("spectrogram: not drawn, qa.metrics.spectral (the shared spectrogram) is not installed")
        return None
    if mono.shape[0] < 2048:
        notes.append(f"spectrogram: not drawn, {mono.shape[0]} samples is shorter than one 2048-sample FFT frame")
        return None
    spec = log_spectrogram(mono, sr, n_bins=SPEC_BINS, max_columns=COLUMNS)
    return spectrogram_svg(np.asarray(spec.db), np.asarray(spec.freqs_hz), mono.shape[0] / sr)


def spectrogram_svg(db: np.ndarray, freqs_hz: np.ndarray, duration_s: float) -> Markup:
    """The (F, T) dB image with a log-frequency axis in Hz and a time axis in seconds.

    Colours span the top :data:`SPEC_RANGE_DB` dB below the loudest cell; digital silence
    (-inf dB) shows as the darkest colour."""
    f, t = db.shape
    finite = db[np.isfinite(db)]
    vmax = float(finite.max()) if finite.size else 0.0
    vmin = vmax - SPEC_RANGE_DB
    b64 = base64.b64encode(_palette_png(db, vmin, vmax)).decode("ascii")
    left, bottom, w, h = 56, 22, 800, 240
    parts = [f'<svg class="spec" viewBox="0 0 {left + w + 20} {h + bottom + 18}" role="img" '
             f'aria-label="spectrogram, log frequency, dB">',
             f'<image x="{left}" y="8" width="{w}" height="{h}" preserveAspectRatio="none" '
             f'href="data:image/png;base64,{b64}"/>']
    lf0, lf1 = math.log(freqs_hz[0]), math.log(freqs_hz[-1])
    for hz in (20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000):
        if freqs_hz[0] <= hz <= freqs_hz[-1]:
            y = 8 + h - (math.log(hz) - lf0) / (lf1 - lf0) * h
            label = f"{hz // 1000}k" if hz >= 1000 else str(hz)
            parts.append(f'<line class="grid" x1="{left - 4}" x2="{left}" y1="{y:.1f}" y2="{y:.1f}"/>'
                         f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    for s in nice_ticks(0.0, duration_s, 8):
        x = left + (s / duration_s * w if duration_s > 0 else 0)
        parts.append(f'<text class="tick" x="{x:.1f}" y="{h + 8 + 16}" text-anchor="middle">{escape(fmt_seconds(s))}</text>')
    parts.append(f'<text class="axis" x="2" y="14">Hz</text>'
                 f'<text class="axis" x="{left + w}" y="{h + bottom + 14}" text-anchor="end">'
                 f'colour: {vmin:.0f} to {vmax:.0f} dB</text></svg>')
    return Markup("".join(parts))


def _palette_png(db: np.ndarray, vmin: float, vmax: float) -> bytes:
    """The (F, T) dB array as an 8-bit palette PNG (magma), low frequencies at the bottom.

    One byte per cell keeps a 160 x 800 image near 130 kB even for noise (RGBA would be 4x)."""
    from matplotlib import colormaps
    from PIL import Image

    x = np.nan_to_num(db.astype(np.float64), nan=vmin, neginf=vmin, posinf=vmax)
    idx = np.clip(np.round((x - vmin) / (vmax - vmin) * 255.0), 0, 255).astype(np.uint8)[::-1]
    img = Image.frombytes("P", (idx.shape[1], idx.shape[0]), np.ascontiguousarray(idx).tobytes())
    lut = (colormaps["magma"](np.linspace(0.0, 1.0, 256))[:, :3] * 255).round().astype(np.uint8)
    img.putpalette(lut.tobytes())
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def _loudness(audio: Audio, target_lufs: float | None, metrics: dict[str, Any],
              notes: list[str]) -> Markup | None:
    series = [_series_of(metrics, k, notes) for k in ("momentary_series", "short_term_series")]
    if series[0] is not None and series[1] is not None:
        integrated = metrics.get("integrated_lufs")
        integrated = float(integrated) if _is_number(integrated) else None
        return loudness_svg(series[0], series[1], audio.duration_s, integrated_lufs=integrated,
                            target_lufs=target_lufs, columns=COLUMNS)
    try:
        from qa.metrics.loudness import measure_loudness
    except ModuleNotFoundError as e:
        if e.name != "qa.metrics.loudness":
            raise
        notes.append(f"loudness curve: not drawn, {e.name} is not installed")
        return None
    r = measure_loudness(audio.samples, audio.sample_rate, with_true_peak=False)
    why = next((n for n in r.notes if n.startswith("loudness: n/a")), None)
    kw = {"empty_message": why} if why else {}
    return loudness_svg(r.momentary, r.short_term, audio.duration_s, integrated_lufs=r.integrated_lufs,
                        target_lufs=target_lufs, columns=COLUMNS, **kw)


def _series_of(metrics: dict[str, Any], key: str, notes: list[str]) -> np.ndarray | None:
    """``metrics[key]`` as an (n, 2) array of finite [t_end_seconds, lufs]; None when absent, or
    malformed (with a note: the curve is then measured from the audio)."""
    rows = metrics.get(key)
    if rows is None:
        return None
    if isinstance(rows, list) and all(isinstance(r, (list, tuple)) and len(r) == 2
                                      and all(_is_number(v) for v in r) for r in rows):
        return np.asarray(rows, dtype=np.float64).reshape(-1, 2)
    notes.append(f"loudness curve: {key} in the results is not a list of [t_end_seconds, lufs] "
                 "number pairs; the curve is measured from the audio instead")
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
