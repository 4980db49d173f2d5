"""Style prompt -> :class:`Style` (tempo, key, mode, energy) and a 64-dim embedding.

Deterministic: explicit "120 bpm" / "in A minor" win; otherwise mood words set the mode,
tempo and energy, and the remaining words are hashed (so two prompts differ, the same prompt is
always the same style). The embedding is what the conditioning network reads.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

EMBED_DIM = 64
NOTE_NAMES = ["c", "c#", "d", "d#", "e", "f", "f#", "g", "g#", "a", "a#", "b"]
_FLATS = {"db": 1, "eb": 3, "gb": 6, "ab": 8, "bb": 10}

#: word -> (minor?, tempo bpm, energy 0..1)
MOODS = {
    "sad": (True, 72, 0.35), "ballad": (True, 76, 0.35), "melancholic": (True, 70, 0.3),
    "calm": (False, 84, 0.3), "ambient": (False, 80, 0.25), "lofi": (False, 86, 0.4),
    "happy": (False, 118, 0.75), "pop": (False, 116, 0.7), "upbeat": (False, 124, 0.8),
    "dance": (False, 126, 0.9), "energetic": (False, 132, 0.9), "rock": (False, 128, 0.85),
    "dark": (True, 100, 0.6), "epic": (True, 110, 0.8), "folk": (False, 96, 0.5),
}


@dataclass(frozen=True)
class Style:
    prompt: str
    tempo_bpm: float
    key: int  # pitch class of the tonic, 0 = C
    minor: bool
    energy: float  # 0..1: drum and hi-hat level

    def describe(self) -> str:
        return f"{NOTE_NAMES[self.key].upper()} {'minor' if self.minor else 'major'}, {self.tempo_bpm:g} bpm, energy {self.energy:.2f}"


def parse_style(prompt: str) -> Style:
    words = re.findall(r"[a-z#]+|\d+", prompt.lower())
    h = zlib.crc32(prompt.lower().encode("utf-8"))
    minor, tempo, energy = bool(h & 1), 90 + (h >> 1) % 40, 0.4 + ((h >> 8) % 40) / 100
    for w in words:
        if w in MOODS:
            minor, tempo, energy = MOODS[w]
            break
    m = re.search(r"(\d{2,3})\s*bpm", prompt.lower())
    if m:
        tempo = float(min(max(int(m.group(1)), 40), 220))
    key = (h >> 16) % 12
    m = re.search(r"\bin ([a-g](?:#|b)?)\s*(major|minor)?", prompt.lower())
    if m:
        name = m.group(1)
        key = _FLATS.get(name, NOTE_NAMES.index(name) if name in NOTE_NAMES else key)
        if m.group(2):
            minor = m.group(2) == "minor"
    return Style(prompt, float(tempo), int(key), bool(minor), float(energy))


def style_embedding(style: Style) -> np.ndarray:
    """64 floats: [tempo/200, minor, energy, key one-hot (12), hashed words (49)]."""
    e = np.zeros(EMBED_DIM, dtype=np.float32)
    e[0], e[1], e[2] = style.tempo_bpm / 200.0, float(style.minor), style.energy
    e[3 + style.key] = 1.0
    for w in re.findall(r"[a-z]+", style.prompt.lower()):
        e[15 + zlib.crc32(w.encode()) % (EMBED_DIM - 15)] += 0.1
    return e


def decode_embedding(e) -> tuple[float, int, bool, float]:
    """(tempo bpm, key, minor, energy) back from an embedding (what the network reads)."""
    e = np.asarray(e, dtype=np.float64)
    return float(e[0] * 200.0), int(np.argmax(e[3:15])), bool(e[1] > 0.5), float(e[2])
