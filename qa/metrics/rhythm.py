"""Rhythm from band-level frames: the onset envelope (spectral flux) and the local beat period
over the song (a tempo curve), for the tempo_drift check.

The onset envelope is the half-wave rectified frame-to-frame rise of the band levels in dB,
averaged over the bands (spectral flux on a log spectrum, as in Böck & Widmer 2013 and
librosa's ``onset_strength``), with its running mean removed. The tempo curve is the peak of
the envelope's autocorrelation near a multiple of the song's beat period, window by window,
refined by parabolic interpolation: at a lag of about 2 s one frame is 0.6 % of the period,
and the interpolated peak resolves about a tenth of that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d


def onset_envelope(db: np.ndarray, hop_s: float, *, mean_s: float = 0.5) -> np.ndarray:
    """(bands, frames) dB -> (frames,) onset strength, dB per frame (first frame 0)."""
    db = np.asarray(db, dtype=np.float32)
    if db.shape[1] < 2:
        return np.zeros(db.shape[1])
    flux = np.maximum(np.diff(db, axis=1), 0.0).mean(axis=0, dtype=np.float64)
    flux = np.concatenate(([0.0], flux))
    w = max(1, int(round(mean_s / hop_s)))
    return np.maximum(flux - uniform_filter1d(flux, w, mode="nearest"), 0.0)


def _autocorr(x: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation of ``x`` (mean removed) at integer ``lags``."""
    x = x - x.mean()
    e = float(x @ x)
    if e <= 0:
        return np.zeros(lags.size)
    return np.array([float(x[:-k] @ x[k:]) / e for k in lags])


def _peak(r: np.ndarray, lags: np.ndarray) -> tuple[float, float]:
    """Interpolated lag and height of the largest value of ``r`` (a parabola through the
    maximum and its neighbours)."""
    i = int(np.argmax(r))
    if 0 < i < r.size - 1:
        a, b, c = r[i - 1], r[i], r[i + 1]
        den = a - 2 * b + c
        off = 0.5 * (a - c) / den if den < 0 else 0.0
        return float(lags[i] + off), float(b - 0.25 * (a - c) * off)
    return float(lags[i]), float(r[i])


@dataclass(frozen=True)
class TempoCurve:
    """Local beat period over the song. ``beat_s`` is the song's beat period (the strongest
    onset periodicity between 0.3 and 1.2 s: 50-200 BPM); ``times_s`` / ``periods_s`` the
    window centres and local beat periods; ``strength`` the median autocorrelation height at
    the local peaks (0..1: a steady beat 0.3 and more, speech and rubato under 0.2).
    ``drift_pct``: change of the fitted straight line from the first to the last window,
    percent of the mean period (+ = slowing down); ``jump_pct``: the largest difference of the
    median periods in ``side_s`` before and after any window, percent, at ``jump_at_s``;
    ``scatter_pct``: median absolute deviation of the periods from the better of the two
    models (``jumps``: the step fits better than the line), percent: a steady grid measures
    well under 1 %. ``reason`` says
    why the curve is undefined (None fields)."""

    beat_s: float | None
    times_s: tuple[float, ...]
    periods_s: tuple[float, ...]
    strength: float | None
    drift_pct: float | None
    jump_pct: float | None
    jump_at_s: float | None
    scatter_pct: float | None
    jumps: bool = False
    reason: str | None = None

    @property
    def bpm(self) -> float | None:
        return 60.0 / self.beat_s if self.beat_s else None


def tempo_curve(onset: np.ndarray, hop_s: float, *, window_s: float = 8.0, step_s: float = 2.0,
                lag_s: float = 2.0, search: float = 0.1, min_duration_s: float = 20.0,
                side_s: float = 10.0, min_flux_db: float = 0.3) -> TempoCurve:
    """Beat period window by window. The song's beat period P comes from the autocorrelation
    of the whole envelope; each window then looks for the autocorrelation peak within
    ``search`` (fraction) of k*P, k the multiple of P nearest ``lag_s`` (several beats: the
    finer relative resolution), and reports peak / k. An envelope whose mean is under
    ``min_flux_db`` has no onsets to follow (a held chord measures 0.16 dB per frame of
    analysis jitter, the fixture song 0.89)."""
    n = onset.size
    dur = n * hop_s
    none = lambda why: TempoCurve(None, (), (), None, None, None, None, None, reason=why)  # noqa: E731
    if dur < min_duration_s:
        return none(f"{dur:.1f} s is too short to follow a tempo (needs {min_duration_s:.0f} s)")
    if float(onset.mean()) < min_flux_db:
        return none(f"no onsets (mean spectral flux {onset.mean():.3f} dB per frame, under "
                    f"{min_flux_db:g}): a held sound has no beat")
    lags = np.arange(max(1, int(0.3 / hop_s)), int(1.2 / hop_s) + 1)
    beat_lag, _ = _peak(_autocorr(onset, lags), lags)
    beat = beat_lag * hop_s
    k = max(1, int(round(lag_s / beat)))
    centre = k * beat_lag
    wl = np.arange(int(centre * (1 - search)), int(np.ceil(centre * (1 + search))) + 1)
    win = int(round(window_s / hop_s))
    step = int(round(step_s / hop_s))
    times, periods, heights = [], [], []
    for a in range(0, n - win + 1, step):
        lag, h = _peak(_autocorr(onset[a : a + win], wl), wl)
        times.append((a + win / 2) * hop_s)
        periods.append(lag / k * hop_s)
        heights.append(h)
    t, p = np.array(times), np.array(periods)
    strength = float(np.median(heights))
    mean = float(p.mean())
    slope, icpt = np.polyfit(t, p, 1)
    line_res = p - (slope * t + icpt)
    drift = 100.0 * slope * (t[-1] - t[0]) / mean
    side = max(2, int(round(side_s / step_s)))
    jump, jump_at, step_res = 0.0, None, None
    for i in range(side, p.size - side + 1):
        before, after = np.median(p[i - side : i]), np.median(p[i : i + side])
        j = 100.0 * abs(after - before) / mean
        if j > jump:
            jump, jump_at = j, float((t[i - 1] + t[i]) / 2)
            step_res = np.concatenate((p[:i] - np.median(p[:i]), p[i:] - np.median(p[i:])))
    jumps = step_res is not None and np.median(np.abs(step_res)) < np.median(np.abs(line_res))
    scatter = 100.0 * float(np.median(np.abs(step_res if jumps else line_res))) / mean
    return TempoCurve(beat, tuple(times), tuple(periods), strength, float(drift), float(jump),
                      jump_at, scatter, bool(jumps))
