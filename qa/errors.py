"""The one base class of every audio-qa exception, so a library caller can catch any of them.

Each module keeps its own exception next to the code that raises it (``AudioReadError`` in
``qa.loading``, ``SaveError`` in ``qa.io.save``, ...); they all derive from :class:`AudioQAError`
and, where a built-in category fits (a bad value), from that too.
"""

from __future__ import annotations


class AudioQAError(Exception):
    """Any error raised by audio-qa on purpose (not a bug): its message names the value, the
    expectation and the fix."""


class OutputError(AudioQAError):
    """An output file cannot be written (missing or read-only folder, a path that would replace an
    input, a symlink where a temporary belongs, a full disk).

    ``str(e)`` is ``"output PATH: REASON"``; ``e.path`` and ``e.reason`` keep the two parts."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"output {path}: {reason}")
        self.path, self.reason = path, reason
