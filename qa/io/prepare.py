"""Validating samples before anything is written, and shaping them for each writer's API.

Every saver gets float samples in [-1, 1], channels-first, checked here once: finite, a layout
that is plainly (channels, frames), not over full scale. Integer PCM is scaled by
:class:`qa.audio.Audio` (int16 / 32768), so an int16 PCM-scale tensor never reaches a float API
(torchaudio >= 2.9 clamps it to a +-1 square wave). Writers that take integers (scipy for PCM)
get them from :func:`to_int16`, rounded and clipped here, not by the library.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qa.audio import Audio
from qa.errors import AudioQAError

#: Float input may exceed full scale by this much (rounding in a float pipeline) before the
#: save is refused: 1 LSB of 16-bit.
OVER_FULL_SCALE = 2.0**-15


class SampleError(AudioQAError, ValueError):
    """Samples that must not be written: the message says what is wrong and what to do."""


def as_audio(samples: Any, sample_rate: int) -> Audio:
    """An :class:`Audio` from an Audio, a numpy array or a torch tensor (channels-first)."""
    if isinstance(samples, Audio):
        if int(sample_rate) != samples.sample_rate:
            raise SampleError(
                f"sample_rate={sample_rate} Hz disagrees with the Audio's {samples.sample_rate} Hz; "
                "pass the Audio's own rate or resample first"
            )
        return samples
    try:
        if type(samples).__module__.startswith("torch"):
            return Audio.from_torch(samples, int(sample_rate))
        return Audio.from_array(samples, int(sample_rate))
    except (ValueError, TypeError) as e:
        raise SampleError(f"cannot save these samples: {e}") from None


def validate(audio: Audio) -> np.ndarray:
    """The samples as a float64 (channels, frames) array, or :class:`SampleError` naming the
    problem: non-finite values, no frames, or a peak over full scale."""
    x = audio.samples
    if x.shape[1] == 0:
        raise SampleError("refusing to save 0 frames: the audio is empty; check the step that produced it")
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        first = int(np.flatnonzero(~np.isfinite(x).all(axis=0))[0])
        raise SampleError(
            f"refusing to save: {bad} sample(s) are NaN or infinite (first at frame {first}, "
            f"{first / audio.sample_rate:.3f} s); find the stage that produced them "
            "(`audio-qa run` probes each stage)"
        )
    peak = float(np.max(np.abs(x)))
    if peak > 1.0 + OVER_FULL_SCALE:
        raise SampleError(
            f"refusing to save: peak {peak:.4g} is over full scale (1.0); samples from "
            f"{audio.provenance.original_dtype} must be floats in [-1, 1]. If these are PCM "
            "integers stored as floats divide by 32768; otherwise normalise or limit first"
        )
    return np.asarray(x, dtype=np.float64)


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float [-1, 1] to int16 PCM: x * 32768 rounded to nearest and clipped to the int16 range
    (the inverse of Audio's int16 / 32768, so a PCM-exact signal survives unchanged)."""
    return np.clip(np.rint(x * 32768.0), -32768, 32767).astype(np.int16)
