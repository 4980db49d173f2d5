"""The quality-versus-bitrate plot."""

from __future__ import annotations

import io

from qa.reports.codec_plot import plot_quality_vs_bitrate


def test_plot_from_rows_is_a_png_of_the_figure_size():
    rows = [{"codec": f"mp3:{k}", "kbps": k, "metrics": {"snr_db": s}}
            for k, s in [(64, 10.0), (128, 15.0), (320, 25.0)]]
    rows.append({"codec": "flac", "metrics": {"snr_db": None}})
    png = plot_quality_vs_bitrate(rows, metric="snr_db")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(png), format="png")
    assert img.shape[:2] == (400, 640)
