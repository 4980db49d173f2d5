"""The scan's worker child: its time limit grows with the length a file declares."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from qa.profiles import load_profile
from qa.scan.worker import TIMEOUT_PER_AUDIO_S, FileWorker, context_spec, file_limit_s


def test_the_limit_adds_a_share_per_second_of_audio():
    assert TIMEOUT_PER_AUDIO_S == 0.2
    assert file_limit_s(120.0, 3600.0) == pytest.approx(840.0)  # an hour: 120 + 720 s
    assert file_limit_s(120.0, 0.0) == 120.0


def test_a_long_file_gets_the_time_its_length_asks_for(tmp_path):
    # 30 minutes of 8 kHz mono: its check takes seconds, well over a 0.5 s base limit, and well
    # under the 0.5 + 360 s its header earns
    path = tmp_path / "long.wav"
    t = np.arange(30 * 60 * 8000) / 8000
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.3 * t)) / 1.5,
             8000, subtype="PCM_16")
    ctx = context_spec(load_profile("generic"), expect_sample_rate=None, expect_channels=None,
                       expect_duration=None)
    with FileWorker(ctx, timeout_s=0.5) as worker:
        row = worker.check({"path": str(path)})
        readable = row["checks"][0]
        assert readable["id"] == "readable" and readable["status"] == "pass", readable
        # a file whose header is refused gets no announcement and still its row
        bad = tmp_path / "bad.wav"
        bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVEjunk")
        row = worker.check({"path": str(bad)})
        assert row["checks"][0]["status"] == "fail" and row["path"] == str(bad)
