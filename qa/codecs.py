"""Codecs for round trips: an encode/decode pair per spec string, in memory.

A codec is anything with ``spec``, ``encode(audio) -> Encoded`` and ``decode(encoded) -> Audio``
(:class:`Codec`), so a pipeline's own codec or VAE plugs in with :class:`FunctionCodec`.
:func:`parse_codec` builds the built-in ones from specs:

``pcm16`` ``pcm24`` ``flac`` ``mulaw`` ``alaw`` (WAV/FLAC through libsndfile), ``mp3:<kbps>`` (LAME
CBR through libsndfile; gapless: the LAME tag lets the decoder drop the encoder delay),
``vorbis[:<quality 0-10>]`` (oggenc scale, default 4), ``opus:<kbps>`` (total bitrate; audio not at
an Opus rate goes through 48 kHz, as opusenc does), ``resample:<hz>`` (down and back up),
``ffmpeg:<encoder>:<kbps>`` (the ffmpeg binary, Matroska in memory) and ``encodec:<kbps>``
(EnCodec 24 kHz through transformers, only from weights already on disk: never downloaded; the
folder in ``$AUDIO_QA_ENCODEC_DIR`` when set, else the local Hugging Face cache).
"""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from qa.audio import Audio
from qa.errors import AudioQAError

OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
MP3_KBPS = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 192, 224, 256, 320)
ENCODEC_KBPS = (1.5, 3.0, 6.0, 12.0, 24.0)
ENCODEC_MODEL = "facebook/encodec_24khz"
#: A folder holding EnCodec weights (``save_pretrained`` layout: config.json and the weights),
#: used instead of the Hugging Face cache, e.g. a copy of facebook/encodec_24khz.
ENCODEC_DIR_ENV = "AUDIO_QA_ENCODEC_DIR"

#: Bitrate ladders used by ``--sweep`` (codec family -> spec parameters).
SWEEP = {
    "mp3": ["32", "64", "96", "128", "192", "256", "320"],
    "opus": ["16", "32", "48", "64", "96", "128", "192"],
    "vorbis": ["0", "2", "4", "6", "8", "10"],
    "encodec": ["1.5", "3", "6", "12", "24"],
    "ffmpeg": ["32", "64", "96", "128", "192", "256"],
}

SPEC_HELP = ("pcm16, pcm24, flac, mulaw, alaw, mp3:<kbps>, vorbis[:<0-10>], opus:<kbps>, "
             "resample:<hz>, ffmpeg:<encoder>:<kbps>, encodec:<kbps>")


class CodecSpecError(AudioQAError, ValueError):
    """A codec spec that does not parse (a usage error)."""


class CodecUnavailable(AudioQAError, RuntimeError):
    """A codec that this environment cannot run (missing tool, library or weights)."""


@dataclass(frozen=True)
class Encoded:
    """The encoded form of one signal. ``payload`` is bytes for file codecs (its size gives the
    bitrate) or anything a custom codec returns (latents); ``notes`` say what the encoder did
    beyond the obvious (e.g. resampled to 48 kHz for Opus)."""

    payload: Any
    sample_rate: int  # of the input (and of the decoded output)
    channels: int
    frames: int
    notes: tuple[str, ...] = ()
    coded_rate: int | None = None  # the rate inside the payload when it differs

    @property
    def nbytes(self) -> int | None:
        return len(self.payload) if isinstance(self.payload, (bytes, bytearray)) else None

    @property
    def kbps(self) -> float | None:
        """Measured bitrate (kbit/s, container overhead included) or None for non-bytes."""
        n = self.nbytes
        return None if n is None or self.frames == 0 else n * 8 / (self.frames / self.sample_rate) / 1000


class Codec(Protocol):
    spec: str

    def encode(self, audio: Audio) -> Encoded: ...

    def decode(self, encoded: Encoded) -> Audio: ...


@dataclass(frozen=True)
class FunctionCodec:
    """A codec from two functions, e.g. a pipeline's VAE: ``encode(audio) -> payload`` and
    ``decode(payload, audio_like) -> Audio`` (``audio_like`` is the :class:`Encoded`)."""

    spec: str
    encode_fn: Callable[[Audio], Any]
    decode_fn: Callable[[Any, Encoded], Audio]

    def encode(self, audio: Audio) -> Encoded:
        return Encoded(self.encode_fn(audio), audio.sample_rate, audio.channels, audio.frames)

    def decode(self, encoded: Encoded) -> Audio:
        return self.decode_fn(encoded.payload, encoded)


def _frames_last(audio: Audio) -> np.ndarray:
    return np.ascontiguousarray(audio.samples.T)


def _read(data: bytes, source: str) -> Audio:
    import soundfile as sf

    arr, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return Audio.from_array(arr, sr, layout="channels_last", source=source)


@dataclass(frozen=True)
class SoundfileCodec:
    """WAV / FLAC / MP3 / Ogg through libsndfile, in memory. ``pipe=True`` writes through an OS
    pipe: libsndfile cannot seek back, so an MP3 gets no LAME info tag and its decoder keeps the
    encoder + decoder delay (1105 samples for MPEG-1 layer III) - a real non-gapless MP3."""

    spec: str
    format: str
    subtype: str
    compression_level: float | None = None
    bitrate_mode: str | None = None
    rates: tuple[int, ...] | None = None  # supported rates; others go through 48 kHz
    max_channels: int | None = None
    pipe: bool = False

    def encode(self, audio: Audio) -> Encoded:
        import soundfile as sf

        if self.max_channels and audio.channels > self.max_channels:
            raise CodecUnavailable(f"{self.spec}: {audio.channels} channels; libsndfile's "
                                   f"{self.format} writer takes at most {self.max_channels}")
        notes: tuple[str, ...] = ()
        x, sr = audio.samples, audio.sample_rate
        if self.rates and sr not in self.rates:
            from qa.metrics.intrusive import resample

            x, sr = resample(x, sr, 48000).astype(np.float32), 48000
            notes = (f"{self.spec}: {audio.sample_rate} Hz is not a {self.format}/{self.subtype} "
                     f"rate; encoded at 48000 Hz and resampled back",)
        kw = dict(format=self.format, subtype=self.subtype, compression_level=self.compression_level,
                  bitrate_mode=self.bitrate_mode)
        data = np.ascontiguousarray(x.T)
        if self.pipe:
            payload = _write_through_pipe(data, sr, kw)
        else:
            buf = io.BytesIO()
            sf.write(buf, data, sr, **kw)
            payload = buf.getvalue()
        return Encoded(payload, audio.sample_rate, audio.channels, audio.frames, notes,
                       coded_rate=sr if sr != audio.sample_rate else None)

    def decode(self, encoded: Encoded) -> Audio:
        out = _read(encoded.payload, f"{self.spec} round trip")
        if out.sample_rate != encoded.sample_rate:
            from qa.metrics.intrusive import resample

            y = resample(out.samples, out.sample_rate, encoded.sample_rate).astype(np.float32)
            out = Audio.from_array(y, encoded.sample_rate, layout="channels_first",
                                   source=out.source)
        return out


def _write_through_pipe(data: np.ndarray, sr: int, kw: dict) -> bytes:
    import soundfile as sf

    rfd, wfd = os.pipe()
    chunks: list[bytes] = []

    def drain() -> None:
        with os.fdopen(rfd, "rb") as f:
            while block := f.read(1 << 16):
                chunks.append(block)

    t = threading.Thread(target=drain)
    t.start()
    try:
        with sf.SoundFile(wfd, "w", sr, data.shape[1], closefd=True, **kw) as f:
            f.write(data)
    finally:
        t.join()
    return b"".join(chunks)


@dataclass(frozen=True)
class ResampleCodec:
    """Down to ``rate`` Hz and back (scipy polyphase): what a pipeline running at a lower rate
    costs. The payload is the float32 signal at ``rate``."""

    spec: str
    rate: int

    def encode(self, audio: Audio) -> Encoded:
        from qa.metrics.intrusive import resample

        y = resample(audio.samples, audio.sample_rate, self.rate).astype(np.float32)
        return Encoded(y, audio.sample_rate, audio.channels, audio.frames)

    def decode(self, encoded: Encoded) -> Audio:
        from qa.metrics.intrusive import resample

        y = resample(encoded.payload, self.rate, encoded.sample_rate)[:, : encoded.frames]
        return Audio.from_array(y.astype(np.float32), encoded.sample_rate, layout="channels_first",
                                source=f"{self.spec} round trip")


@dataclass(frozen=True)
class FfmpegCodec:
    """Any ffmpeg audio encoder at a bitrate, muxed into Matroska in memory, decoded by ffmpeg
    to float32 at the original rate and channel count."""

    spec: str
    encoder: str
    kbps: float

    def _run(self, cmd: list[str], data: bytes) -> bytes:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=600)
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise CodecUnavailable(f"{self.spec}: ffmpeg failed ({' | '.join(tail)})")
        return proc.stdout

    def encode(self, audio: Audio) -> Encoded:
        raw = _frames_last(audio).astype("<f4").tobytes()
        cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "f32le",
               "-ar", str(audio.sample_rate), "-ac", str(audio.channels), "-i", "pipe:0",
               "-c:a", self.encoder, "-b:a", f"{self.kbps:g}k", "-f", "matroska", "pipe:1"]
        return Encoded(self._run(cmd, raw), audio.sample_rate, audio.channels, audio.frames)

    def decode(self, encoded: Encoded) -> Audio:
        cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", "pipe:0",
               "-f", "f32le", "-ar", str(encoded.sample_rate), "-ac", str(encoded.channels),
               "pipe:1"]
        out = np.frombuffer(self._run(cmd, encoded.payload), dtype="<f4")
        arr = out.reshape(-1, encoded.channels)
        return Audio.from_array(arr.copy(), encoded.sample_rate, layout="channels_last",
                                source=f"{self.spec} round trip")


@dataclass
class EncodecCodec:
    """EnCodec 24 kHz (transformers) at ``kbps`` in {1.5, 3, 6, 12, 24}: channels coded one at a
    time as mono, audio resampled to 24 kHz and back. Weights come from ``model_dir`` (default
    ``$AUDIO_QA_ENCODEC_DIR``) or else the local Hugging Face cache, never from the network;
    :meth:`check` says why the codec is unavailable otherwise."""

    spec: str
    kbps: float
    model_dir: str | None = None
    _model: Any = field(default=None, repr=False)

    def check(self) -> None:
        try:
            import transformers  # noqa: F401
            import torch  # noqa: F401
        except ImportError as e:
            raise CodecUnavailable(f"{self.spec}: unavailable: {e.name} is not installed "
                                   "(pip install transformers torch)") from None
        from transformers import EncodecModel

        folder = self.model_dir or os.environ.get(ENCODEC_DIR_ENV) or None
        try:
            self._model = EncodecModel.from_pretrained(folder or ENCODEC_MODEL, local_files_only=True).eval()
        except OSError as e:
            where = (f"the folder {folder} ({ENCODEC_DIR_ENV}) holds no EnCodec weights" if folder else
                     f"the {ENCODEC_MODEL} weights are not in the local Hugging Face cache")
            raise CodecUnavailable(
                f"{self.spec}: unavailable: {where} and audio-qa never downloads; point "
                f"{ENCODEC_DIR_ENV} at a folder saved with save_pretrained ({str(e).splitlines()[0]})"
            ) from None
        rate = self._model.config.sampling_rate
        if rate != 24000 or float(self.kbps) not in self._model.config.target_bandwidths:
            raise CodecUnavailable(f"{self.spec}: unavailable: the model in {folder or ENCODEC_MODEL} is "
                                   f"{rate} Hz with bandwidths {self._model.config.target_bandwidths}, "
                                   f"not EnCodec 24 kHz at {self.kbps:g} kbit/s")

    def encode(self, audio: Audio) -> Encoded:
        import torch

        from qa.metrics.intrusive import resample

        if self._model is None:
            self.check()
        x = resample(audio.samples, audio.sample_rate, 24000).astype(np.float32)
        with torch.no_grad():
            t = torch.from_numpy(x)[:, None, :]  # channels as a batch of mono
            out = self._model.encode(t, bandwidth=float(self.kbps))
        payload = (out.audio_codes, out.audio_scales)
        return Encoded(payload, audio.sample_rate, audio.channels, audio.frames)

    def decode(self, encoded: Encoded) -> Audio:
        import torch

        from qa.metrics.intrusive import resample

        codes, scales = encoded.payload
        with torch.no_grad():
            y = self._model.decode(codes, scales)[0][:, 0, :].cpu().numpy()
        y = resample(y, 24000, encoded.sample_rate)[:, : encoded.frames]
        return Audio.from_array(y.astype(np.float32), encoded.sample_rate,
                                layout="channels_first", source=f"{self.spec} round trip")


def _number(spec: str, text: str, what: str, lo: float, hi: float) -> float:
    try:
        v = float(text)
    except ValueError:
        raise CodecSpecError(f"codec {spec!r}: {what} must be a number, got {text!r}") from None
    if not (lo <= v <= hi) or not math.isfinite(v):
        raise CodecSpecError(f"codec {spec!r}: {what} must be in [{lo:g}, {hi:g}], got {text}")
    return v


def parse_codec(spec: str, *, pipe: bool = False) -> Codec:
    """Build a codec from its spec; :class:`CodecSpecError` names what is wrong and the valid
    specs. ``pipe`` applies to MP3 only (see :class:`SoundfileCodec`)."""
    name, _, arg = spec.partition(":")
    name = name.lower()
    simple = {
        "pcm16": ("WAV", "PCM_16"), "pcm24": ("WAV", "PCM_24"),
        "mulaw": ("WAV", "ULAW"), "alaw": ("WAV", "ALAW"),
    }
    if name in simple and not arg:
        return SoundfileCodec(spec, *simple[name])
    if name == "flac" and not arg:
        return SoundfileCodec(spec, "FLAC", "PCM_24")
    if name == "mp3" and arg:
        kbps = _number(spec, arg, "the MP3 bitrate (kbit/s)", 8, 320)
        if int(kbps) != kbps or int(kbps) not in MP3_KBPS:
            raise CodecSpecError(f"codec {spec!r}: MP3 bitrates are {MP3_KBPS} kbit/s")
        # libsndfile maps compression_level c to int(320 - c * 288) kbit/s at 32-48 kHz; +0.5
        # keeps the truncation on the requested value. Lower rates (MPEG-2/2.5) use other ranges,
        # handled in encode via _mp3_level.
        return _Mp3Codec(spec, "MP3", "MPEG_LAYER_III", None, "CONSTANT", MP3_RATES, 2, pipe,
                         kbps=int(kbps))
    if name == "vorbis":
        q = _number(spec, arg, "the Vorbis quality (0-10)", 0, 10) if arg else 4.0
        return SoundfileCodec(spec, "OGG", "VORBIS", compression_level=1.0 - q / 10.0)
    if name == "opus" and arg:
        kbps = _number(spec, arg, "the Opus bitrate (kbit/s)", 6, 512)
        return _OpusCodec(spec, "OGG", "OPUS", None, None, OPUS_RATES, None, False, kbps=kbps)
    if name == "resample" and arg:
        return ResampleCodec(spec, int(_number(spec, arg, "the rate (Hz)", 1000, 768000)))
    if name == "ffmpeg":
        enc, _, rate = arg.partition(":")
        if not enc or not rate:
            raise CodecSpecError(f"codec {spec!r}: expected ffmpeg:<encoder>:<kbps>, e.g. ffmpeg:aac:128")
        kbps = _number(spec, rate, "the bitrate (kbit/s)", 1, 3000)
        if shutil.which("ffmpeg") is None:
            raise CodecUnavailable(f"{spec}: unavailable: the ffmpeg binary is not on PATH "
                                   "(install ffmpeg, e.g. apt-get install ffmpeg)")
        return FfmpegCodec(spec, enc, kbps)
    if name == "encodec" and arg:
        kbps = _number(spec, arg, "the EnCodec bandwidth (kbit/s)", 1.5, 24)
        if kbps not in ENCODEC_KBPS:
            raise CodecSpecError(f"codec {spec!r}: EnCodec 24 kHz bandwidths are {ENCODEC_KBPS}")
        return EncodecCodec(spec, kbps)
    raise CodecSpecError(f"unknown codec spec {spec!r}; expected one of: {SPEC_HELP}")


@dataclass(frozen=True)
class _Mp3Codec(SoundfileCodec):
    kbps: int = 128

    def encode(self, audio: Audio) -> Encoded:
        import dataclasses

        sr = audio.sample_rate
        top, bottom = (320, 32) if sr >= 32000 else (160, 8) if sr >= 16000 else (64, 8)
        if not bottom <= self.kbps <= top:
            raise CodecUnavailable(f"{self.spec}: at {sr} Hz MP3 bitrates run {bottom}-{top} kbit/s")
        level = (top - self.kbps - 0.5) / (top - bottom)
        return SoundfileCodec.encode(dataclasses.replace(self, compression_level=max(0.0, level)), audio)


@dataclass(frozen=True)
class _OpusCodec(SoundfileCodec):
    kbps: float = 64.0

    def encode(self, audio: Audio) -> Encoded:
        import dataclasses

        # libsndfile: bitrate = int((1 - c) * 250000 + 6000) * channels (6-256 kbit/s per channel)
        per_ch = self.kbps * 1000 / audio.channels
        if not 6000 <= per_ch <= 256000:
            raise CodecUnavailable(f"{self.spec}: {per_ch / 1000:g} kbit/s per channel is outside "
                                   "libsndfile's Opus range of 6-256")
        level = 1.0 - (per_ch - 6000 + 0.5) / 250000
        return SoundfileCodec.encode(dataclasses.replace(self, compression_level=min(1.0, level)), audio)


def expand_sweep(specs: list[str]) -> list[str]:
    """Each spec's codec family over its bitrate ladder (:data:`SWEEP`); families without a
    ladder (pcm16, flac, ...) stay as given. Order kept, duplicates dropped."""
    out: list[str] = []
    for spec in specs:
        name, _, arg = spec.partition(":")
        name = name.lower()
        if name == "ffmpeg":
            enc = arg.partition(":")[0]
            new = [f"ffmpeg:{enc}:{k}" for k in SWEEP["ffmpeg"]]
        elif name in SWEEP:
            new = [f"{name}:{k}" for k in SWEEP[name]]
        else:
            new = [spec]
        out.extend(s for s in new if s not in out)
    return out


def nominal_kbps(spec: str) -> float | None:
    """The bitrate a spec asks for (kbit/s), or None (lossless, resample, Vorbis quality)."""
    name, _, arg = spec.partition(":")
    if name in ("mp3", "opus", "encodec") and arg:
        return float(arg)
    if name == "ffmpeg" and arg.count(":") == 1:
        return float(arg.split(":")[1])
    return None
