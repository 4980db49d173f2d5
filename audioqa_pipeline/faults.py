"""The injectable faults: each is placed at the stage where it happens in real pipelines."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    stage: str
    description: str


FAULTS: dict[str, Fault] = {f.name: f for f in [
    Fault("fp16_overflow", "sample", "sampling in float16: a velocity spike (an unscaled attention logit) passes 65504, overflows to Inf, and Inf - Inf gives NaN"),
    Fault("zero_decoder", "vae_decode", "the decoder's exception is swallowed and an all-zero buffer is returned"),
    Fault("dc_offset", "vae_decode", "the decoder output carries a constant bias (+0.1 full scale)"),
    Fault("dropout", "vae_decode", "one decoded chunk is zero-filled (0.3 s of digital silence mid-song)"),
    Fault("chunk_seams", "vae_decode", "chunked decoding without overlap: the room reverb restarts at every chunk, leaving steps at the joins"),
    Fault("transposed", "rearrange", "the output is (samples, channels) instead of (channels, samples)"),
    Fault("batch_concat", "rearrange", "a batch of 2 is rearranged 'b c n -> c (b n)': two songs end to end"),
    Fault("dead_channel", "rearrange", "a mono signal padded to stereo with a zero channel"),
    Fault("nan_normalize", "normalize", "peak normalization of the not-yet-filled output buffer: 0/0 = NaN"),
    Fault("tanh_overcompression", "master", "mastering drives tanh saturation 12x too hot: the waveform is squashed flat"),
    Fault("phase_inversion", "master", "an M/S stereo stage with a sign error: the right channel is polarity-inverted"),
    Fault("true_peak_overs", "master", "the chain ends with peak normalization to 0 dBFS instead of a -1 dBTP limiter: inter-sample overs"),
    Fault("int16_wrap", "to_pcm", "int16 conversion after +6 dB makeup gain without a clamp: samples wrap around"),
    Fault("int16_as_float", "save", "the int16 PCM codes are cast to float and handed to the float writer unscaled (a +-32767 'float' signal that would clamp to a square wave): the save refuses it"),
    Fault("wrong_sample_rate", "save", "the writer is given 48000 Hz for 44100 Hz audio"),
    Fault("save_hang", "save", "the writer blocks forever after 4 KiB (a wedged filesystem call): cut by the save timeout"),
    Fault("truncated_write", "save", "the writer loses the last 40 % of the file and returns normally (disk full / killed writer): caught by the read-back"),
]}


def get_fault(name: str | None) -> Fault | None:
    if name is None:
        return None
    try:
        return FAULTS[name]
    except KeyError:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}") from None
