"""The one in-memory audio type: channels-first float samples, a sample rate and provenance.

Every path into the harness (a file, a numpy array, a torch tensor) ends here, so the metrics
only ever see ``(channels, frames)`` float arrays. Integer PCM is scaled to [-1, 1) by its
full-scale code (int16 / 32768, int32 / 2**31); float16/bfloat16 widen to float32; float64 stays
float64. The layout of a 2-D input is never guessed: an input that is not plainly
``(channels, frames)`` is an error that says what was seen and how to pass ``layout=``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from qa.errors import AudioQAError

Layout = Literal["auto", "channels_first", "channels_last"]

#: The most channels an axis may have to be read as the channel axis without ``layout=``.
#: 16 covers 7.1.4 (12) and third-order ambisonics (16); a longer axis is time.
MAX_AUTO_CHANNELS = 16

_INT_FULL_SCALE = {
    np.dtype(np.int8): 2.0**7,
    np.dtype(np.int16): 2.0**15,
    np.dtype(np.int32): 2.0**31,
    np.dtype(np.int64): 2.0**63,
}


class LayoutError(AudioQAError, ValueError):
    """An array whose shape cannot be read as (channels, frames) without a guess."""


@dataclass(frozen=True)
class Provenance:
    """Where samples came from, so a report can say what the user actually handed over.

    ``original_dtype`` is the dtype before scaling ("int16", "float32", "torch.bfloat16");
    ``original_layout`` is "mono_1d", "channels_first" or "channels_last"; ``subtype`` and
    ``format`` are libsndfile's names for files ("PCM_16", "WAV") and None otherwise.
    """

    source: str
    original_dtype: str
    original_layout: str
    subtype: str | None = None
    format: str | None = None
    original_shape: tuple[int, ...] = ()


@dataclass(frozen=True, eq=False)
class Audio:
    """Channels-first float audio. ``samples`` is a read-only view shaped (channels, frames);
    it may share memory with the array it was built from, whose own flags are never touched
    (the caller can go on writing into their buffer)."""

    samples: np.ndarray
    sample_rate: int
    provenance: Provenance = field(
        default_factory=lambda: Provenance("array", "float32", "channels_first")
    )

    def __post_init__(self) -> None:
        s = self.samples
        if s.ndim != 2:
            raise LayoutError(f"Audio.samples must be 2-D (channels, frames), got shape {s.shape}")
        if s.dtype not in (np.float32, np.float64):
            raise TypeError(f"Audio.samples must be float32 or float64, got {s.dtype}")
        if not (isinstance(self.sample_rate, (int, np.integer)) and self.sample_rate > 0):
            raise ValueError(f"sample_rate must be a positive integer in Hz, got {self.sample_rate!r}")
        if s.flags.writeable:
            view = s.view()  # freeze a view of our own, never the caller's array object
            view.flags.writeable = False
            object.__setattr__(self, "samples", view)

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return self.frames / float(self.sample_rate)

    @property
    def source(self) -> str:
        return self.provenance.source

    def mono(self) -> np.ndarray:
        """Mean of the channels as float64, shape (frames,)."""
        if self.channels == 1:
            return self.samples[0].astype(np.float64)
        return self.samples.mean(axis=0, dtype=np.float64)

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def from_array(
        cls,
        array: Any,
        sample_rate: int,
        *,
        layout: Layout = "auto",
        source: str = "array",
        subtype: str | None = None,
        format: str | None = None,
    ) -> "Audio":
        """Build from a numpy array: 1-D is mono; 2-D must be (channels, frames) unless
        ``layout="channels_last"`` says it is (frames, channels)."""
        arr = np.asarray(array)
        samples, original_layout = _to_channels_first(arr, layout)
        prov = Provenance(
            source=source,
            original_dtype=str(arr.dtype),
            original_layout=original_layout,
            subtype=subtype,
            format=format,
            original_shape=tuple(int(n) for n in arr.shape),
        )
        return cls(_to_float(samples), int(sample_rate), prov)

    @classmethod
    def from_torch(
        cls, tensor: Any, sample_rate: int, *, layout: Layout = "auto", source: str = "tensor"
    ) -> "Audio":
        """Build from a torch tensor on any device and of any float or int dtype. The tensor is
        copied to host memory once; torch is only touched through the object given."""
        original_dtype = str(tensor.dtype)
        t = tensor.detach()
        if t.is_floating_point() and t.dtype not in _torch_float_dtypes(t):
            t = t.float()  # float16 / bfloat16 have no numpy twin: widen on the device
        arr = t.cpu().numpy()
        audio = cls.from_array(arr, sample_rate, layout=layout, source=source)
        prov = Provenance(
            source=source,
            original_dtype=original_dtype,
            original_layout=audio.provenance.original_layout,
            original_shape=tuple(int(n) for n in tensor.shape),
        )
        return cls(audio.samples, audio.sample_rate, prov)


def _torch_float_dtypes(t: Any) -> tuple:
    import torch  # only reached when the caller passed a tensor, so torch is importable

    return (torch.float32, torch.float64)


def _to_channels_first(arr: np.ndarray, layout: Layout) -> tuple[np.ndarray, str]:
    if layout not in ("auto", "channels_first", "channels_last"):
        raise ValueError(
            f"layout must be 'auto', 'channels_first' or 'channels_last', got {layout!r}"
        )
    if arr.ndim == 1:
        return arr[np.newaxis, :], "mono_1d"
    if arr.ndim != 2:
        hint = (
            f"; select one item first, e.g. x[0] for shape {arr.shape[1:]}"
            if arr.ndim == 3
            else ""
        )
        raise LayoutError(
            f"expected audio shaped (channels, samples) or (samples,) but got a {arr.ndim}-D "
            f"array of shape {arr.shape}{hint}"
        )
    rows, cols = arr.shape
    if layout == "channels_first":
        return arr, "channels_first"
    if layout == "channels_last":
        return arr.T, "channels_last"
    rows_ok, cols_ok = rows <= MAX_AUTO_CHANNELS, cols <= MAX_AUTO_CHANNELS
    if rows_ok and not cols_ok:
        return arr, "channels_first"
    if cols_ok and not rows_ok:
        raise LayoutError(
            f"expected audio shaped (channels, samples) but got {arr.shape}; "
            "pass layout='channels_last' or transpose"
        )
    if rows_ok and cols_ok:
        raise LayoutError(
            f"cannot tell channels from samples in an array of shape {arr.shape}: both axes "
            f"have at most {MAX_AUTO_CHANNELS} entries; pass layout='channels_first' if it is "
            "(channels, samples) or layout='channels_last' if it is (samples, channels)"
        )
    raise LayoutError(
        f"neither axis of shape {arr.shape} looks like a channel count (at most "
        f"{MAX_AUTO_CHANNELS}); if this really is audio with that many channels pass "
        "layout='channels_first' or layout='channels_last'"
    )


def _to_float(arr: np.ndarray) -> np.ndarray:
    """Scale integer PCM to [-1, 1) and widen narrow floats; float32/float64 pass through."""
    dt = arr.dtype
    if dt in (np.float32, np.float64):
        return np.ascontiguousarray(arr)
    if dt == np.float16:
        return np.ascontiguousarray(arr, dtype=np.float32)
    if dt == np.uint8:  # unsigned 8-bit WAV: 128 is zero
        return ((arr.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    if dt in _INT_FULL_SCALE:
        scale = _INT_FULL_SCALE[dt]
        work = np.float64 if dt.itemsize >= 4 else np.float32
        out = arr.astype(work) / scale
        return np.ascontiguousarray(out, dtype=np.float32 if dt.itemsize <= 4 else np.float64)
    if dt == np.bool_:
        raise TypeError("boolean arrays are not audio; pass float samples in [-1, 1] or int PCM")
    raise TypeError(
        f"unsupported sample dtype {dt}; pass float16/32/64 in [-1, 1] or int8/16/32 PCM"
    )
