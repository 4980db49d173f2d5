"""qa.metrics.content: why a metric is None is said in a note (too short vs silence)."""

from __future__ import annotations

import numpy as np

from qa.metrics.content import content_metrics


def test_file_shorter_than_one_analysis_frame_says_too_short_not_silence():
    x = np.random.default_rng(1).normal(0.0, 0.1, (2, 3000)).astype(np.float32)
    # 3000 samples hold one 2048-sample frame of the file's STFT: both are measured
    c = content_metrics(x, 44100)
    assert c.flatness.median > 0.5 and c.flatness_too_short is None
    assert c.bandwidth_hz is not None and c.bandwidth_too_short is None
    # below 2048 samples there is no frame, and both say so
    c = content_metrics(x[:, :1000], 44100)
    assert c.flatness.median is None and c.bandwidth_hz is None and c.cliff_db is None
    for metric in ("spectral_flatness", "bandwidth_hz"):
        assert (f"{metric}: n/a, the file is too short: 1000 samples per channel, fewer "
                "than the 2048 of one analysis frame") in c.notes
    assert not any("silence" in n for n in c.notes)


def test_exactly_one_analysis_frame_is_measured_and_silence_still_says_silence():
    x = np.random.default_rng(2).normal(0.0, 0.1, (1, 2048))
    c = content_metrics(x, 48000)
    assert c.bandwidth_hz is not None and c.bandwidth_too_short is None
    c = content_metrics(np.zeros((2, 48000)), 48000)
    assert "bandwidth_hz: n/a, the spectrum is at the floor everywhere (silence)" in c.notes
    assert c.bandwidth_too_short is None
