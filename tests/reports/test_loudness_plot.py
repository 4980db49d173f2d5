"""The loudness-over-time PNG."""

from __future__ import annotations

import io

import matplotlib.image as mpimg
import numpy as np

from qa.metrics.loudness import measure_loudness
from qa.reports.loudness_plot import plot_loudness


def test_plot_is_a_png_of_the_expected_size():
    sr = 48000
    t = np.arange(6 * sr) / sr
    x = np.tile(0.1 * np.sin(2 * np.pi * 1000 * t) * (t > 1), (2, 1))
    png = plot_loudness(measure_loudness(x, sr), target_lufs=-23.0, title="tone")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(io.BytesIO(png), format="png")
    assert img.shape[:2] == (320, 900)
    # the red target line is drawn: some pixels are close to #c0392b
    red = (np.abs(img[..., 0] - 0xC0 / 255) < 0.05) & (np.abs(img[..., 1] - 0x39 / 255) < 0.05)
    assert red.sum() > 100


def test_plot_of_silence_still_renders():
    png = plot_loudness(measure_loudness(np.zeros((1, 48000)), 48000))
    assert png[:4] == b"\x89PNG"
