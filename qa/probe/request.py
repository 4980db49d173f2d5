"""The canary request: what the probe asks for and therefore what it expects back."""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from qa.errors import AudioQAError

#: A short song with a fixed seed: the cheapest request that still exercises lyrics and music.
DEFAULT_LYRICS = "[00:00.20]Test the line, the song comes through\n[00:02.00]Every note arrives on cue\n"
_KNOWN = {"lyrics", "style", "duration_s", "seed", "sample_rate", "channels", "extra", "gradio"}


class RequestFileError(AudioQAError, ValueError):
    """A --request file that cannot be used."""


@dataclass(frozen=True)
class CanaryRequest:
    """Lyrics (LRC), style prompt, duration (s) and seed, plus what the audio must be: sample
    rate (Hz) and channels. ``extra`` is merged into the submit body as is; ``gradio`` holds the
    Gradio adapter's ``api_name`` and ``inputs``."""

    lyrics: str = DEFAULT_LYRICS
    style: str = "upbeat pop, bright synths, 120 bpm"
    duration_s: float = 4.0
    seed: int = 0
    sample_rate: int | None = 44100
    channels: int | None = 2
    extra: dict[str, Any] = field(default_factory=dict)
    gradio: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str = ""

    def for_run(self, index: int) -> "CanaryRequest":
        """A copy with its own idempotency key (one per run: retries of a run reuse it)."""
        return replace(self, idempotency_key=f"audio-qa-probe-{uuid.uuid4().hex}-{index}")

    def fields(self) -> dict[str, Any]:
        """Placeholder values for request templates: {lyrics}, {style}, {duration}, {seed}."""
        return {"lyrics": self.lyrics, "style": self.style, "duration": self.duration_s, "seed": self.seed,
                "idempotency_key": self.idempotency_key}


def load_request(path: str | None) -> CanaryRequest:
    if path is None:
        return CanaryRequest()
    try:
        with open(path, "rb") as f:
            d = tomllib.load(f)
    except FileNotFoundError:
        raise RequestFileError(f"--request {path}: no such file") from None
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RequestFileError(f"--request {path}: not valid TOML ({e})") from None
    unknown = set(d) - _KNOWN
    if unknown:
        raise RequestFileError(f"--request {path}: unknown key(s) {sorted(unknown)}; known: {sorted(_KNOWN)}")
    try:
        req = CanaryRequest(**d)
        float(req.duration_s), int(req.seed)
    except (TypeError, ValueError) as e:
        raise RequestFileError(f"--request {path}: {e}") from None
    if not req.duration_s > 0:
        raise RequestFileError(f"--request {path}: duration_s must be > 0 seconds, got {req.duration_s!r}")
    return req


def substitute(template: Any, values: dict[str, Any]) -> Any:
    """``template`` with ``{name}`` placeholders filled: a string that is exactly one placeholder
    keeps the value's type (a number stays a number); dicts and lists are walked."""
    if isinstance(template, str):
        for k, v in values.items():
            if template == "{" + k + "}":
                return v
        out = template
        for k, v in values.items():
            out = out.replace("{" + k + "}", str(v))
        return out
    if isinstance(template, dict):
        return {k: substitute(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [substitute(v, values) for v in template]
    return template
