"""The injectable faults: each is placed at the stage where it happens in real pipelines.

A fault is a :class:`Hooks` subclass that overrides the hook of its stage; :func:`run_pipeline`
calls every hook of the fault it was given (of :class:`Hooks` itself for a clean run, which
changes nothing). Adding a fault is a subclass with one method and one line in :data:`FAULTS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

Tensor = Any  # torch.Tensor; torch is imported where a hook runs, so listing faults stays light


class Hooks:
    """Where a fault acts on the reference pipeline, one hook per stage. Each takes what the
    healthy stage produced (or the healthy step, for a fault that replaces it) and returns what
    the run goes on with; the base class is the healthy pipeline."""

    #: Songs sampled at once; rearrange keeps the first.
    batch: int = 1
    #: Sample in float16 (the Euler state and the velocities), as a half-precision model does.
    half_precision: bool = False
    #: Save with these writers only (``module:function`` names for :func:`qa.io.save_audio`),
    #: None for save_audio's default order.
    writers: tuple[str, ...] | None = None
    #: The model reaches its end of song: the decoded song ends in its outro (a fade). A
    #: generation stopped by a length limit never gets there.
    reaches_end: bool = True

    def velocity(self, step: int, steps: int, v: Tensor) -> Tensor:
        """sample: the guided velocity of Euler step ``step`` of ``steps``."""
        return v

    def sampled(self, latent: Tensor) -> Tensor:
        """sample: the sampler's (batch, frames, 64) latent."""
        return latent

    def decode_plan(self, chunked: bool, overlap_frames: int) -> tuple[bool, int]:
        """vae_decode: whether to decode in chunks, with how many frames of context."""
        return chunked, overlap_frames

    def decoded(self, audio: Tensor) -> Tensor:
        """vae_decode: the decoder's (batch, 2, samples) output."""
        return audio

    def rearrange(self, audio: Tensor) -> Tensor:
        """rearrange: (batch, 2, samples) to the song's (2, samples)."""
        return audio[0]

    def normalize(self, out: Tensor, healthy: Callable[[Tensor], Tensor]) -> Tensor:
        """normalize: ``healthy`` is the peak normalization to -1 dBFS."""
        return healthy(out)

    def mastered(self, y: np.ndarray) -> np.ndarray:
        """master: the mastered (2, samples) float64 signal."""
        return y

    def to_pcm(self, out: Tensor, healthy: Callable[[Tensor], Tensor]) -> Tensor:
        """to_pcm: ``healthy`` clamps to [-1, 1] and rounds to int16 codes."""
        return healthy(out)

    def to_writer(self, pcm: Tensor, sample_rate: int) -> tuple[Tensor, int]:
        """save: the float samples and the sample rate handed to the writer."""
        return pcm.float() / 32768.0, sample_rate


class _Fp16Overflow(Hooks):
    half_precision = True

    def velocity(self, step, steps, v):
        import torch

        if step != steps // 2:
            return v
        return v * torch.tensor(1e5, dtype=v.dtype)  # an unscaled attention logit: past 65504


class _StuckLoop(Hooks):
    START, SPAN_FRAMES = 0.45, 43  # from 45 % of the song on, one 2.0 s span over and over

    def sampled(self, latent):
        n = latent.shape[1]
        a = int(self.START * n)
        src = a - self.SPAN_FRAMES + (np.arange(a, n) - a) % self.SPAN_FRAMES
        latent[:, a:] = latent[:, src]
        return latent


class _CutShort(Hooks):
    KEEP = 0.7
    reaches_end = False  # stopped by the limit: no outro

    def sampled(self, latent):
        return latent[:, : int(self.KEEP * latent.shape[1])].contiguous()


class _ZeroDecoder(Hooks):
    def decoded(self, audio):
        import torch

        return torch.zeros_like(audio)  # what `except Exception: return torch.zeros(...)` gives


class _DcOffset(Hooks):
    def decoded(self, audio):
        return audio + 0.1


class _Dropout(Hooks):
    SECONDS = 0.3

    def decoded(self, audio):
        from audioqa_pipeline.lyrics import SAMPLE_RATE

        a = audio.shape[-1] // 2
        audio[..., a: a + int(self.SECONDS * SAMPLE_RATE)] = 0.0
        return audio


class _LateStart(Hooks):
    SECONDS = 7.0

    def decoded(self, audio):
        from audioqa_pipeline.lyrics import SAMPLE_RATE

        audio[..., : int(self.SECONDS * SAMPLE_RATE)] = 0.0
        return audio


class _UnderrunClicks(Hooks):
    BUFFER_S, EVERY, LOST = 0.5, 3, 96  # 96 samples (2.2 ms) lost at every third 0.5 s buffer

    def decoded(self, audio):
        from audioqa_pipeline.lyrics import SAMPLE_RATE

        step = int(self.BUFFER_S * SAMPLE_RATE) * self.EVERY
        for a in range(step, audio.shape[-1] - self.LOST, step):
            audio[..., a: a + self.LOST] = 0.0
        return audio


class _ChunkSeams(Hooks):
    def sampled(self, latent: Tensor) -> Tensor:
        """sample: the sampler's (batch, frames, 64) latent."""
        return latent

    def decode_plan(self, chunked, overlap_frames):
        return True, 0


class _Transposed(Hooks):
    def rearrange(self, audio):
        return audio[0].T.contiguous()


class _BatchConcat(Hooks):
    batch = 2

    def rearrange(self, audio):
        return audio.permute(1, 0, 2).reshape(2, -1)  # rearrange "b c n -> c (b n)"


class _DeadChannel(Hooks):
    def rearrange(self, audio):
        import torch

        out = audio[0]
        return torch.stack([out.mean(0), torch.zeros(out.shape[-1])])


class _NanNormalize(Hooks):
    def normalize(self, out, healthy):
        import torch

        return healthy(torch.zeros_like(out)) + out  # normalizing before the copy: 0/0


class _TanhOvercompression(Hooks):
    def mastered(self, y):
        return np.tanh(12.0 * y) * 0.9


class _PhaseInversion(Hooks):
    def mastered(self, y):
        mid, side = (y[0] + y[1]) / 2, (y[0] - y[1]) / 2
        return np.stack([mid + side, -(mid - side)])


class _TruePeakOvers(Hooks):
    def mastered(self, y):
        return y / np.abs(y).max()


class _Int16Wrap(Hooks):
    def to_pcm(self, out, healthy):
        import torch

        return (out * 2.0 * 32767).round().to(torch.int32).to(torch.int16)  # no clamp: wraps


class _Int16AsFloat(Hooks):
    def to_writer(self, pcm, sample_rate):
        return pcm.float(), sample_rate  # the PCM codes cast to float, unscaled


class _WrongSampleRate(Hooks):
    def to_writer(self, pcm, sample_rate):
        return super().to_writer(pcm, 48000)[0], 48000


class _SaveHang(Hooks):
    writers = ("audioqa_pipeline.writers:stalled_writer",)  # only it: a fallback would hide the fault


class _TruncatedWrite(Hooks):
    writers = ("audioqa_pipeline.writers:truncating_writer",)


@dataclass(frozen=True)
class Fault:
    name: str
    stage: str
    description: str
    hooks: Hooks = field(default_factory=Hooks, compare=False, repr=False)


FAULTS: dict[str, Fault] = {f.name: f for f in [
    Fault("fp16_overflow", "sample", "sampling in float16: a velocity spike (an unscaled attention logit) passes 65504, overflows to Inf, and Inf - Inf gives NaN", _Fp16Overflow()),
    Fault("stuck_loop", "sample", "the sampler gets stuck on one 2 s span of latent frames from 45 % of the song to the end (a context window that stopped advancing)", _StuckLoop()),
    Fault("cut_short", "sample", "the generation stops at a length limit at 70 % of the requested frames: no outro, the song ends mid-phrase", _CutShort()),
    Fault("zero_decoder", "vae_decode", "the decoder's exception is swallowed and an all-zero buffer is returned", _ZeroDecoder()),
    Fault("dc_offset", "vae_decode", "the decoder output carries a constant bias (+0.1 full scale)", _DcOffset()),
    Fault("dropout", "vae_decode", "one decoded chunk is zero-filled (0.3 s of digital silence mid-song)", _Dropout()),
    Fault("late_start", "vae_decode", "the decoded song starts 7 s late: its first 7 s are left zero (dead air at the start)", _LateStart()),
    Fault("underrun_clicks", "vae_decode", "streaming the decode in 0.5 s buffers, every third buffer underruns: 96 samples (2.2 ms) of zeros, a click each", _UnderrunClicks()),
    Fault("chunk_seams", "vae_decode", "chunked decoding without overlap: the room reverb restarts at every chunk, leaving steps at the joins", _ChunkSeams()),
    Fault("transposed", "rearrange", "the output is (samples, channels) instead of (channels, samples)", _Transposed()),
    Fault("batch_concat", "rearrange", "a batch of 2 is rearranged 'b c n -> c (b n)': two songs end to end", _BatchConcat()),
    Fault("dead_channel", "rearrange", "a mono signal padded to stereo with a zero channel", _DeadChannel()),
    Fault("nan_normalize", "normalize", "peak normalization of the not-yet-filled output buffer: 0/0 = NaN", _NanNormalize()),
    Fault("tanh_overcompression", "master", "mastering drives tanh saturation 12x too hot: the waveform is squashed flat", _TanhOvercompression()),
    Fault("phase_inversion", "master", "an M/S stereo stage with a sign error: the right channel is polarity-inverted", _PhaseInversion()),
    Fault("true_peak_overs", "master", "the chain ends with peak normalization to 0 dBFS instead of a -1 dBTP limiter: inter-sample overs", _TruePeakOvers()),
    Fault("int16_wrap", "to_pcm", "int16 conversion after +6 dB makeup gain without a clamp: samples wrap around", _Int16Wrap()),
    Fault("int16_as_float", "save", "the int16 PCM codes are cast to float and handed to the float writer unscaled (a +-32767 'float' signal that would clamp to a square wave): the save refuses it", _Int16AsFloat()),
    Fault("wrong_sample_rate", "save", "the writer is given 48000 Hz for 44100 Hz audio", _WrongSampleRate()),
    Fault("save_hang", "save", "the writer blocks forever after 4 KiB (a wedged filesystem call): cut by the save timeout", _SaveHang()),
    Fault("truncated_write", "save", "the writer loses the last 40 % of the file and returns normally (disk full / killed writer): caught by the read-back", _TruncatedWrite()),
]}


def get_fault(name: str | None) -> Fault | None:
    if name is None:
        return None
    try:
        return FAULTS[name]
    except KeyError:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}") from None
