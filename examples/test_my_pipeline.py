"""Example: testing your own generation pipeline with the audio-qa pytest plugin.

Run it from a checkout (or with audio-qa installed, where the plugin loads by itself):

    python -m pytest examples/test_my_pipeline.py -p qa.pytest_plugin --audio-qa-json qa.json

``my_pipeline`` stands in for your model: text in, stereo float audio out, then a save. Replace it
with your own calls; the tests stay the same.
"""

import numpy as np
import soundfile as sf

from qa.pytest_plugin import assert_audio

SR = 44100


def my_pipeline(prompt: str, seconds: float = 3.0, gain: float = 0.75) -> np.ndarray:
    """A stand-in 'model': a chord whose root depends on the prompt, (2, samples) float32."""
    root = 110.0 * 2 ** ((sum(map(ord, prompt)) % 12) / 12)
    t = np.arange(int(SR * seconds)) / SR
    chord = sum(np.sin(2 * np.pi * root * r * t) for r in (1.0, 1.25, 1.5)) / 3
    # a noise floor like a real recording's: a bare three-sine chord ends at 0.5 kHz and is,
    # rightly, flagged as band-limited output by the bandwidth check
    chord = chord + 0.003 * np.random.default_rng(0).standard_normal(t.size)
    env = np.minimum(t / 0.05, 1.0) * np.exp(-t / 2.0)
    left, right = chord * env, np.roll(chord * env, 40)
    return (gain * np.stack([left, right])).astype(np.float32)


def decode_stage(latent: np.ndarray) -> np.ndarray:
    return np.tanh(latent)


def test_output_is_clean():
    audio = my_pipeline("a calm piano ballad")
    # fails with the full check table when e.g. the output clips, is silent or has NaNs
    item = assert_audio(audio, SR, expect_channels=2, expect_duration=3.0)
    assert item.metrics["sample_peak_dbfs"] < -1.0


def test_saved_file_is_clean(tmp_path):
    path = tmp_path / "song.wav"
    sf.write(path, my_pipeline("upbeat pop").T, SR, subtype="PCM_16")
    assert_audio(path, expect_sample_rate=SR, expect_channels=2)


def test_stages_under_the_probe(audio_probe):
    """Each stage's output is recorded; a NaN or a silent stage fails the test naming it."""
    with audio_probe.stage("generate") as s:
        latent = my_pipeline("lofi hip hop")
        s.record(latent)
    with audio_probe.stage("decode") as s:
        s.record(decode_stage(latent))
