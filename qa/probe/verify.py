"""Decode the downloaded audio and run the file checks with the request's expectations; the
failing checks decide the run's audio error class."""

from __future__ import annotations

import os
import tempfile

from qa.analyze import check_audio
from qa.checks import CheckContext
from qa.loading import AudioReadError, load_audio
from qa.probe.errors import ProbeError
from qa.probe.request import CanaryRequest
from qa.results import ItemResult

#: Failing check ids -> error class, most telling first (NaN audio also looks clipped, a
#: wrong rate also has the wrong duration).
AUDIO_CLASSES = (
    ("audio_nan", ("finite",)),
    ("audio_silent", ("not_silent", "channel_silent")),
    ("audio_contract", ("sample_rate", "duration", "layout")),
    ("audio_clipped", ("clipping", "int16_wrap")),
    ("audio_noise", ("noise_like",)),
)
_SUFFIX = {"audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/flac": ".flac",
           "audio/mpeg": ".mp3", "audio/ogg": ".ogg", "audio/opus": ".opus", "audio/aiff": ".aiff"}


def suffix_for(mime: str | None, name: str | None) -> str:
    ext = os.path.splitext((name or "").split("?")[0])[1].lower()
    if ext in (".wav", ".flac", ".mp3", ".ogg", ".opus", ".aiff", ".aif"):
        return ext
    return _SUFFIX.get((mime or "").split(";")[0].strip().lower(), ".wav")


def verify_bytes(data: bytes, mime: str | None, name: str, req: CanaryRequest, profile) -> ItemResult:
    """The file item of the downloaded audio; raises ``decode_error`` when it is not audio."""
    fd, tmp = tempfile.mkstemp(prefix="audio-qa-probe-", suffix=suffix_for(mime, name))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            audio = load_audio(tmp)
        except AudioReadError as e:
            raise ProbeError("decode_error", f"{name}: {len(data)} bytes ({mime or 'no media type'}) are not "
                             f"audio: {e.detail}", server_message=data[:80].decode("latin-1")) from None
    finally:
        os.unlink(tmp)
    ctx = CheckContext(profile=profile, expect_sample_rate=req.sample_rate, expect_duration=req.duration_s,
                       expect_channels=req.channels)
    return check_audio(audio, ctx, path=name)


def audio_error_class(item: ItemResult) -> str | None:
    """The primary audio error class of a checked file (None when no check fails)."""
    failing = {c.id for c in item.checks if c.status in ("fail", "error")}
    if not failing:
        return None
    for cls, ids in AUDIO_CLASSES:
        if failing & set(ids):
            return cls
    return "audio_other"
