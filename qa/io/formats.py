"""The file formats the savers and the doctor know, by short name.

A format fixes the container and the encoding a caller asks for; the read-back check compares
what was written against it. ``accept`` lists the libsndfile subtypes that count as a correct
write (FLAC from a float source may legitimately come out 24-bit).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    container: str  # libsndfile format name, as soundfile.info().format reports it
    subtype: str  # libsndfile subtype requested
    accept: tuple[str, ...]  # subtypes that count as a correct write
    lossless: bool
    #: Quantization step of the payload check in full-scale units (None for lossy codecs).
    lsb: float | None


FORMATS: dict[str, Format] = {
    "wav": Format("wav", ".wav", "WAV", "PCM_16", ("PCM_16",), True, 2.0**-15),
    "wav_float": Format("wav_float", ".wav", "WAV", "FLOAT", ("FLOAT",), True, 0.0),
    "flac": Format("flac", ".flac", "FLAC", "PCM_16", ("PCM_16", "PCM_24"), True, 2.0**-15),
    "mp3": Format("mp3", ".mp3", "MP3", "MPEG_LAYER_III", ("MPEG_LAYER_III",), False, None),
    "ogg": Format("ogg", ".ogg", "OGG", "VORBIS", ("VORBIS",), False, None),
    "opus": Format("opus", ".opus", "OGG", "OPUS", ("OPUS",), False, None),
}

_BY_SUFFIX = {".wav": "wav", ".flac": "flac", ".mp3": "mp3", ".ogg": "ogg", ".opus": "opus"}
_SUBTYPE_LSB = {"PCM_16": 2.0**-15, "PCM_24": 2.0**-23, "PCM_32": 2.0**-31, "FLOAT": 0.0,
                "DOUBLE": 0.0}


def format_for_path(path: str, subtype: str = "PCM_16") -> Format:
    """The format a target path asks for: the suffix picks the container; ``subtype`` applies to
    WAV and FLAC (PCM_16, PCM_24, PCM_32, FLOAT); lossy containers use their codec."""
    import os

    suffix = os.path.splitext(str(path))[1].lower()
    if suffix not in _BY_SUFFIX:
        raise ValueError(
            f"cannot tell the audio format of {path!r} from its suffix {suffix!r}; "
            f"use one of {', '.join(sorted(_BY_SUFFIX))}"
        )
    base = FORMATS[_BY_SUFFIX[suffix]]
    if not base.lossless:
        return base
    if subtype not in _SUBTYPE_LSB or (base.container == "FLAC" and subtype in ("FLOAT", "DOUBLE", "PCM_32")):
        allowed = "PCM_16, PCM_24" if base.container == "FLAC" else ", ".join(_SUBTYPE_LSB)
        raise ValueError(f"subtype {subtype!r} is not available for {suffix} files; use one of {allowed}")
    if base.container == "WAV" and subtype == "FLOAT":
        return FORMATS["wav_float"]
    return Format(f"{base.name}:{subtype}", suffix, base.container, subtype, (subtype,), True,
                  _SUBTYPE_LSB[subtype])
