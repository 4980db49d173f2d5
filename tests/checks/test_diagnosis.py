"""The right diagnosis on generated signals (no ../shared needed): each fault is named by its
own check id and not by a neighbour's, and legitimate audio around it stays legitimate.

The music is the repository's fixture songs (fixtures/make_fixtures.py: chords, lead, bass and
drums at 44.1 kHz).
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from qa.analyze import check_audio
from qa.audio import Audio
from qa.checks import CheckContext
from tests.conftest import ROOT

SR = 44100


def song(name: str = "song_ballad_20s.flac") -> np.ndarray:
    x, sr = sf.read(ROOT / "fixtures" / "audio" / name, always_2d=True)
    assert sr == SR
    return x.T.copy()


def thirty_seconds() -> np.ndarray:
    """The two fixture songs joined by a 50 ms cross-fade: 30 s of continuous music."""
    a, b = song("song_ballad_20s.flac"), song("song_pop_10s.flac")
    fade = np.linspace(0.0, 1.0, SR // 20)
    mid = a[:, -fade.size:] * (1 - fade) + b[:, : fade.size] * fade
    return np.concatenate([a[:, : -fade.size], mid, b[:, fade.size:]], axis=1)


def checks(x: np.ndarray, ctx: CheckContext | None = None) -> dict:
    item = check_audio(Audio.from_array(np.ascontiguousarray(x, dtype=np.float32), SR), ctx or CheckContext())
    return {c.id: c for c in item.checks}


def bad(res: dict) -> set[str]:
    return {cid for cid, c in res.items() if c.status in ("warn", "fail", "error")}


@pytest.mark.parametrize("ceiling_db", [-1.0, -3.0])
def test_a_clamp_below_full_scale_is_clipping(ceiling_db):
    # gain, then a crude "ceiling" stage: np.clip at -1 / -3 dBFS
    rail = 10 ** (ceiling_db / 20)
    res = checks(np.clip(song() * 4, -rail, rail))
    c = res["clipping"]
    assert c.status == "fail" and c.value > c.threshold
    assert f"sit at a rail at {ceiling_db:.1f} dBFS, below full scale" in c.message
    assert res["int16_wrap"].status == "pass" and res["dc_offset"].status == "pass"


def test_a_peak_normalized_song_is_not_a_rail():
    x = song()
    res = checks(x * (10 ** (-1 / 20) / np.abs(x).max()))
    assert res["clipping"].status == "pass" and res["clipping"].message == "no clipped runs"


@pytest.mark.parametrize("kind", ["clip8", "tanh3", "tanh10", "tanh3_minus1dB"])
def test_clipping_and_saturation_are_never_int16_wrap_or_dc(kind):
    x = song()
    y = {"clip8": lambda: np.clip(x * 8, -1, 1),
         "tanh3": lambda: np.tanh(3 * x / np.abs(x).max()) / np.tanh(3),
         "tanh10": lambda: np.tanh(10 * x / np.abs(x).max()) / np.tanh(10),
         "tanh3_minus1dB": lambda: np.tanh(3 * x / np.abs(x).max()) / np.tanh(3) * 10 ** (-1 / 20)}[kind]()
    res = checks(y)
    assert res["int16_wrap"].status == "pass", res["int16_wrap"].message
    assert res["dc_offset"].status == "pass"
    assert {"clipping", "over_compression"} & bad(res)


def test_an_unclamped_int16_cast_is_still_a_wrap():
    x = song()
    codes = np.round(x * 3 / np.abs(x).max() * 32767).astype(np.int64)
    wrapped = ((codes + 32768) % 65536 - 32768) / 32768.0
    res = checks(wrapped)
    assert res["int16_wrap"].status == "fail" and res["int16_wrap"].value >= 1


def test_digital_silence_is_not_silent_only():
    res = checks(np.zeros((2, SR * 5)))
    assert res["not_silent"].status == "fail"
    assert res["quantization"].status == "skip" and "digital silence" in res["quantization"].message
    assert bad(res) == {"not_silent"}


def test_a_steady_buzz_is_noise_like_not_seams():
    t = np.arange(SR * 10) / SR
    saw = 0.5 * (2 * ((110 * t) % 1.0) - 1)
    res = checks(np.tile(saw, (2, 1)))
    assert res["noise_like"].status == "fail" and "steady buzz" in res["noise_like"].message
    assert res["seams"].status == "skip" and "see noise_like" in res["seams"].message


def test_half_a_second_cut_in_continuous_music_is_a_dropout():
    x = song()
    x[:, 8 * SR: int(8.5 * SR)] = 0.0
    c = checks(x)["dropout"]
    assert c.status == "warn" and c.value >= c.threshold == 0.3
    assert "0.50 s cut to silence at 8.00 s" in c.message and "continuous" in c.message


def test_pauses_rests_fades_and_trailing_silence_are_legitimate():
    x = song()
    # speech-like: 0.6 s phrases cut hard into 0.45 s digital-silence pauses, eleven of them
    phrases = x.copy()
    for k in range(11):
        a = int((1.0 + k * 1.05) * SR)
        phrases[:, a: a + int(0.45 * SR)] = 0.0
    assert checks(phrases)["dropout"].status == "pass"
    # a rest that decays into 0.6 s of silence, then the music comes back
    rest = x.copy()
    a = 6 * SR
    rest[:, a - SR // 2: a] *= np.linspace(1.0, 0.0, SR // 2) ** 3
    rest[:, a: a + int(0.6 * SR)] = 0.0
    assert checks(rest)["dropout"].status == "pass"
    # a fade-out and 3 s of trailing silence
    tail = np.concatenate([x * np.r_[np.ones(x.shape[1] - 2 * SR), np.linspace(1, 0, 2 * SR)],
                           np.zeros((2, 3 * SR))], axis=1)
    assert checks(tail)["dropout"].status == "pass"


def diffrhythm_joins(x: np.ndarray, skip: int, first: int = 112 * 2048, every: int = 96 * 2048):
    """DiffRhythm's chunked VAE decode: the first join at 112 x 2048 frames, then one every
    96 x 2048; each join skips ``skip`` frames of the waveform (a step, not a click)."""
    parts, src, out, joins, j = [], 0, 0, [], first
    while src + (j - out) < x.shape[1]:
        parts.append(x[:, src: src + (j - out)])
        src += (j - out) + skip
        joins.append(j)
        out, j = j, j + every
    parts.append(x[:, src:])
    return np.concatenate(parts, axis=1), joins


@pytest.mark.parametrize("skip", [150, 400])
def test_diffrhythm_seam_grid_is_found_with_no_positions_given(skip):
    y, joins = diffrhythm_joins(thirty_seconds(), skip)
    assert joins[:2] == [229376, 425984] and len(joins) == 6
    c = checks(y)["seams"]
    assert c.status in ("warn", "fail") and c.value >= c.threshold
    assert "every 196608 frames (4.458 s, 6 seams from 5.201 s)" in c.message


def test_the_same_music_without_joins_has_no_seams():
    c = checks(thirty_seconds())["seams"]
    assert c.status == "pass"
