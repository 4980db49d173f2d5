"""LRC lyrics -> timed lines -> frame-aligned lyric tokens (44100/2048 frames per second).

A line is ``[mm:ss.xx]text`` (several time tags may share one text). Metadata tags such as
``[ar:...]`` and blank lines are skipped; any other line is malformed and reported with its line
number, never dropped silently. Tokens are syllables (a vowel group of a Latin word, one CJK
character each) hashed to ids 1..VOCAB-1; 0 is "no lyric" (padding).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from qa.errors import AudioQAError

SAMPLE_RATE = 44100
HOP = 2048
FPS = SAMPLE_RATE / HOP
VOCAB = 4096

_TAG = re.compile(r"\[(\d{1,3}):(\d{1,2}(?:\.\d{1,3})?)\]")
_META = re.compile(r"^\[(ar|ti|al|by|offset|length|re|ve|au|la):.*\]\s*$", re.I)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z']+|[\u3400-\u9fff\uf900-\ufaff]|\d+")
_VOWELS = re.compile(r"[aeiouy]+", re.I)


class LyricsError(AudioQAError, ValueError):
    """Malformed LRC: ``problems`` lists (line number, line, reason)."""

    def __init__(self, source: str, problems: list[tuple[int, str, str]]):
        self.source, self.problems = source, problems
        lines = "; ".join(f"line {n}: {why}: {text!r}" for n, text, why in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{source}: {len(problems)} malformed LRC line(s): {lines}{more}; "
                         "write each lyric line as [mm:ss.xx]text")


@dataclass(frozen=True)
class LyricLine:
    time_s: float
    text: str
    lineno: int


def parse_lrc(text: str, source: str = "<lrc>", *, strict: bool = True) -> tuple[list[LyricLine], list[tuple[int, str, str]]]:
    """Timed lines sorted by time, and the malformed lines (line number, text, reason).
    ``strict`` raises :class:`LyricsError` when any line is malformed."""
    lines: list[LyricLine] = []
    problems: list[tuple[int, str, str]] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or _META.match(line):
            continue
        pos, times = 0, []
        while (m := _TAG.match(line, pos)):
            mm, ss = int(m.group(1)), float(m.group(2))
            if ss >= 60:
                problems.append((n, raw, f"seconds {m.group(2)} out of range (00-59.99)"))
                break
            times.append(mm * 60 + ss)
            pos = m.end()
        else:
            if not times:
                why = ("time tag is not [mm:ss.xx]" if line.startswith("[") else
                       "no [mm:ss.xx] time tag")
                problems.append((n, raw, why))
                continue
            lyric = line[pos:].strip()
            for t in times:
                lines.append(LyricLine(t, lyric, n))
    if strict and problems:
        raise LyricsError(source, problems)
    lines.sort(key=lambda l: (l.time_s, l.lineno))
    return lines, problems


def syllables(text: str) -> list[str]:
    """Sung units: one per CJK character, one per vowel group of a Latin word (at least one)."""
    out: list[str] = []
    for w in _WORD.findall(text):
        if _CJK.match(w):
            out.append(w)
            continue
        groups = _VOWELS.findall(w)
        n = max(1, len(groups) - (1 if w.lower().endswith("e") and len(groups) > 1 else 0))
        step = max(1, len(w) // n)
        out += [w[i * step: (i + 1) * step if i < n - 1 else len(w)].lower() for i in range(n)]
    return out


def token_id(syllable: str) -> int:
    return 1 + zlib.crc32(syllable.encode("utf-8")) % (VOCAB - 1)


#: A syllable is held at most this long (s); lines are sung from their time tag onwards.
MAX_SYLLABLE_S = 0.6


def frame_tokens(lines: list[LyricLine], n_frames: int) -> list[int]:
    """Token id per frame: each line's syllables spread over the time to the next line (capped
    at MAX_SYLLABLE_S each), the last frame of every syllable left 0 so notes re-articulate."""
    tokens = [0] * n_frames
    for i, line in enumerate(lines):
        syl = syllables(line.text)
        if not syl:
            continue
        start = int(round(line.time_s * FPS))
        end_t = lines[i + 1].time_s if i + 1 < len(lines) else n_frames / FPS
        span = min(end_t - line.time_s, MAX_SYLLABLE_S * len(syl))
        per = max(2, int(span * FPS / len(syl)))
        for k, s in enumerate(syl):
            a = start + k * per
            for f in range(a, min(a + per - 1, n_frames)):
                tokens[f] = token_id(s)
    return tokens
