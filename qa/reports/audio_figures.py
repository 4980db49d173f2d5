"""The pictures of one audio file: waveform envelope, spectrogram and loudness curve.

Each figure is built from the shared metric modules (``qa.metrics.spectral.log_spectrogram``,
``qa.metrics.loudness.measure_loudness`` and ``qa.reports.loudness_plot.plot_loudness``); when one
of them is not installed, or a figure cannot be made, the card says so in a note instead of
leaving a silent gap. Images are inlined as base64 PNG inside SVG, so the report stays one file.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field

import numpy as np
from markupsafe import Markup, escape

from qa.audio import Audio
from qa.reports.svg import fmt_seconds, nice_ticks, envelope, waveform_svg

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
    notes: list[str] = field(default_factory=list)


def audio_figures(audio: Audio, *, target_lufs: float | None = None) -> Figures:
    figs = Figures()
    mins, maxs = envelope(audio.samples, COLUMNS)
    figs.waveform = waveform_svg(mins, maxs, audio.duration_s)
    mono = audio.mono()
    figs.spectrogram = _spectrogram(mono, audio.sample_rate, figs.notes)
    figs.loudness = _loudness(audio, target_lufs, figs.notes)
    return figs


def png_img(png: bytes, alt: str, cls: str = "plot") -> Markup:
    """An ``<img>`` with the PNG inlined as a data URI."""
    b64 = base64.b64encode(png).decode("ascii")
    return Markup(f'<img class="{cls}" alt="{escape(alt)}" src="data:image/png;base64,{b64}">')


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
    parts = [f'<svg class="spec" viewBox="0 0 {left + w + 8} {h + bottom + 18}" role="img" '
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


def _loudness(audio: Audio, target_lufs: float | None, notes: list[str]) -> Markup | None:
    try:
        from qa.metrics.loudness import measure_loudness
        from qa.reports.loudness_plot import plot_loudness
    except ModuleNotFoundError as e:
        if e.name not in ("qa.metrics.loudness", "qa.reports.loudness_plot"):
            raise
        notes.append(f"loudness curve: not drawn, {e.name} is not installed")
        return None
    result = measure_loudness(audio.samples, audio.sample_rate)
    return png_img(plot_loudness(result, target_lufs=target_lufs), "loudness curve (LUFS over time)")
