"""The adapter interface and what it returns."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from qa.probe.errors import ProbeError
from qa.probe.request import CanaryRequest

#: Job states as the probe sees them, whatever words the service uses.
STATES = ("queued", "processing", "done", "failed")


@dataclass(frozen=True)
class Health:
    """The preflight: ``ready`` read from the health body (not only the status code), its text,
    and the queue depth when the service tells it."""

    ready: bool
    message: str
    queue_depth: int | None = None


@dataclass(frozen=True)
class JobState:
    """One poll. Times are the server's own (Unix seconds) when it gives them."""

    state: str
    position: int | None = None
    audio: str | None = None  # a URL, a path on the service, a data URI or a local file
    error: str | None = None
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None


class Adapter:
    """health -> submit -> poll ... -> fetch. Each raises :class:`ProbeError` with its class."""

    name = "?"

    def health(self) -> Health:
        raise NotImplementedError

    def submit(self, req: CanaryRequest) -> str:
        """Submit the canary; returns the job id."""
        raise NotImplementedError

    def poll(self, job_id: str) -> JobState:
        raise NotImplementedError

    def fetch(self, job_id: str, state: JobState, deadline_s: float) -> tuple[bytes, str | None, dict]:
        """The audio bytes, their media type and download info (redirects, content_length)."""
        raise NotImplementedError

    def close(self) -> None:
        pass


def dig(obj: Any, path: str) -> Any:
    """The value at a dotted path (``data.0.result|json.0.file``): dict keys, list indices, and
    ``|json`` to parse a JSON string found on the way (ACE-Step's ``result``). None when absent."""
    for part in path.replace("|json", ".|json").split("."):
        if part == "":
            continue
        if part == "|json":
            if not isinstance(obj, str):
                return None
            try:
                obj = json.loads(obj)
            except json.JSONDecodeError:
                raise ProbeError("http_5xx", f"{path}: the value is not JSON text: {obj[:100]!r}") from None
            continue
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.lstrip("-").isdigit() and -len(obj) <= int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


def epoch(v: Any) -> float | None:
    """Unix seconds from a server timestamp: a number (seconds, or milliseconds when > 1e11) or an
    ISO 8601 string; None when absent or unreadable."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v) / 1000.0 if v > 1e11 else float(v)
    if isinstance(v, str):
        try:
            t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return None
        if t.tzinfo is None:
            t = t.replace(tzinfo=dt.timezone.utc)
        return t.timestamp()
    return None


def state_word(word: Any, mapping: dict[str, tuple[str, ...]]) -> str:
    """Map a service's status word to one of :data:`STATES`; an unknown word is an error."""
    w = str(word).lower()
    for state, words in mapping.items():
        if w in words:
            return state
    known = ", ".join(x for ws in mapping.values() for x in ws)
    raise ProbeError("http_5xx", f"job status {word!r} is none of the known words ({known})",
                     server_message=str(word))


def json_body(r) -> dict:
    """A health body as a dict ({} when it is not a JSON object: the status code then decides)."""
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
