"""Loudness over time as a PNG: momentary (400 ms) and short-term (3 s) loudness of a
:class:`~qa.metrics.loudness.LoudnessResult`, with the integrated value and a target line."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: reports render on CI machines
import matplotlib.pyplot as plt  # noqa: E402


def plot_loudness(result, target_lufs: float | None = None, *, title: str | None = None) -> bytes:
    """PNG bytes of momentary and short-term loudness (LUFS) against time (s).

    Blocks below the -70 LUFS absolute gate are absent from the series and leave gaps.
    ``target_lufs`` draws the profile's target as a dashed line; the integrated loudness (when
    defined) is drawn as a dotted line.
    """
    fig, ax = plt.subplots(figsize=(9, 3.2), dpi=100)
    try:
        m, s = result.momentary, result.short_term
        if len(m):
            ax.plot(m[:, 0], m[:, 1], lw=0.8, color="#8fb3d9", label="momentary (400 ms)")
        if len(s):
            ax.plot(s[:, 0], s[:, 1], lw=1.6, color="#1f4e8c", label="short-term (3 s)")
        if result.integrated_lufs is not None:
            ax.axhline(result.integrated_lufs, ls=":", color="#444444",
                       label=f"integrated {result.integrated_lufs:.1f} LUFS")
        if target_lufs is not None:
            ax.axhline(target_lufs, ls="--", color="#c0392b", label=f"target {target_lufs:g} LUFS")
        if not len(m) and not len(s):
            ax.text(0.5, 0.5, "no loudness above -70 LUFS (silent or shorter than 400 ms)",
                    ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("loudness (LUFS)")
        ax.grid(True, alpha=0.3)
        if title:
            ax.set_title(title)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
