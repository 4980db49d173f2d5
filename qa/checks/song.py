"""Song-level checks (:mod:`qa.metrics.song`): a generation that got stuck in a loop, stopped
mid-phrase, starts or ends in dead air, clicks, never develops, or loses its beat grid.

They judge faults a lyrics-to-song model makes, not style: a returning chorus, a loop-based
track that changes after 16 bars, a drone, a fade into silence and a staccato ending pass
(README "Thresholds" has the measurements behind every number).
"""

from __future__ import annotations

from qa.checks.engine import CheckContext, file_check
from qa.checks.tone import tone_skip
from qa.results import CheckResult

_SILENT = "digital silence (see not_silent)"


def _span(a: float, b: float) -> str:
    return f"{a:.1f}-{b:.1f} s"


def _graded(check_id: str, value: float, steps, unit: str, hint: str, *, below: bool = False):
    """The first of ``steps`` ((status, limit, message), fail before warn) whose limit
    ``value`` reaches (``>=``; ``<`` when ``below``) as that status's result, else None."""
    for status, limit, msg in steps:
        if (value < limit) if below else (value >= limit):
            return CheckResult(check_id, status, msg, value, limit, unit, hint=hint)
    return None


def _song(m, ctx: CheckContext, check_id: str):
    """(song metrics, the check's thresholds, None) or (.., .., the skip of a silent file)."""
    s = m.group("song")
    skip = CheckResult(check_id, "skip", _SILENT) if s.edges.typical_dbfs is None else None
    return s, ctx.profile.section(check_id), skip


@file_check("repetition")
def repetition(m, ctx: CheckContext) -> CheckResult:
    """No short span (0.5-4 s) looping near-identically over a long stretch or to the end."""
    s, t, skip = _song(m, ctx, "repetition")
    if skip:
        return skip
    loop = s.loop
    if loop.period_s is None:
        return CheckResult("repetition", "pass", "no span of 0.5-4 s repeats near-identically",
                           0.0, t["fail_fraction_to_end"], "fraction")
    frac = loop.fraction
    where = (f"a {loop.period_s:.2f} s span repeats near-identically (mean band difference "
             f"{loop.distance_db:.1f} dB) over {_span(loop.start_s, loop.end_s)}, "
             f"{frac:.0%} of the audible {loop.audible_s:.1f} s")
    hint = ("the sampler or decoder got stuck on a repeated latent/token span: check the "
            "repetition penalty, the sampling temperature and the context window of the "
            "autoregressive stage, or a chunk index that stopped advancing")
    if loop.to_end:
        msg = where + ", running to the end: the generation is stuck in a loop"
        steps = (("fail", t["fail_fraction_to_end"], msg), ("warn", t["warn_fraction_to_end"], msg))
    else:
        msg = where + ", then the music changes"
        steps = (("fail", t["fail_fraction"], msg + ": nearly the whole file is one loop"),
                 ("warn", t["warn_fraction"], msg + ": an unusually long exact loop"))
    graded = _graded("repetition", frac, steps, "fraction", hint)
    if graded:
        return graded
    return CheckResult("repetition", "pass", where + (" (a loop that changes, as loop-based music "
                       "does)" if not loop.to_end else " (short)"), frac,
                       t["fail_fraction_to_end"], "fraction")


@file_check("truncated_end")
def truncated_end(m, ctx: CheckContext) -> CheckResult:
    """The song ends with a decay or fade, not cut off at full level."""
    s, t, skip = _song(m, ctx, "truncated_end")
    if skip:
        return skip
    e = s.edges
    tone = tone_skip(m, ctx, "truncated_end", "a test tone stops at full level by design")
    if tone:
        return tone
    if s.duration_s < t["min_duration_s"]:
        return CheckResult("truncated_end", "skip",
                           f"{s.duration_s:.1f} s is a clip, not a song (under "
                           f"{t['min_duration_s']:g} s): an excerpt's end is cut on purpose")
    ms = e.tail_s * 1000
    change = (f", {e.end_change_db:+.1f} dB against the half second before"
              if e.end_change_db is not None else "")
    msg = (f"the last {ms:.0f} ms (at {s.duration_s - e.tail_s:.2f} s) sit {e.end_db:+.1f} dB "
           f"from the song's typical level{change}")
    hint = ("the generation stopped at a token or length limit, or the output was cut to a "
            "fixed length: raise the length/token budget, or end with a fade or the model's "
            "end-of-song token")
    graded = _graded("truncated_end", e.end_db,
                     (("fail", t["fail_end_db"], msg + ": cut off mid-phrase, no decay or fade"),
                      ("warn", t["warn_end_db"], msg + ": ends loud, without a full decay")), "dB", hint)
    if graded:
        return graded
    return CheckResult("truncated_end", "pass", msg + ": a decay or fade", e.end_db,
                       t["warn_end_db"], "dB")


@file_check("dead_air")
def dead_air(m, ctx: CheckContext) -> CheckResult:
    """No long near-digital silence before the music starts or after it ends."""
    s, t, skip = _song(m, ctx, "dead_air")
    if skip:
        return skip
    e = s.edges
    worst, where = max((e.lead_s, "start"), (e.trail_s, "end"))
    span = (_span(0.0, e.lead_s) if where == "start"
            else _span(s.duration_s - e.trail_s, s.duration_s))
    msg = (f"{e.lead_s:.2f} s of silence at the start, {e.trail_s:.2f} s at the end (10 ms "
           f"frames under {e.silence_dbfs:.0f} dBFS)")
    hint = ("the model started late or the output buffer is longer than the song: trim "
            "leading/trailing silence, or check the length the pipeline requests against the "
            "audio it gets back")
    said = f"{worst:.2f} s of dead air at the {where} ({span}); {msg}"
    graded = _graded("dead_air", worst, [(k, t[f"{k}_s"], said) for k in ("fail", "warn")], "s", hint)
    if graded:
        return graded
    return CheckResult("dead_air", "pass", msg, worst, t["warn_s"], "s")


@file_check("clicks")
def clicks(m, ctx: CheckContext) -> CheckResult:
    """No isolated impulsive spikes (clicks, pops) far above the local level."""
    s, t, skip = _song(m, ctx, "clicks")
    if skip:
        return skip
    c = s.clicks
    strong = [(ts, r) for ts, r in zip(c.times_s, c.ratios) if r >= t["warn_ratio"]]
    if not strong:
        best = f" (strongest spike {c.max_ratio:.0f}x)" if c.max_ratio is not None else ""
        return CheckResult("clicks", "pass", f"no isolated spike {t['warn_ratio']:g}x above the "
                           f"local level{best}", c.max_ratio or 0.0, t["warn_ratio"], "ratio")
    n_fail = sum(r >= t["fail_ratio"] for _, r in strong)
    times = ", ".join(f"{ts:.3f} s" for ts, _ in sorted(strong)[:8])
    more = f" and {len(strong) - 8} more" if len(strong) > 8 else ""
    msg = (f"{len(strong)} click(s) at {times}{more}; strongest {strong[0][1]:.0f}x the local "
           "level of the signal's second difference")
    hint = ("isolated spikes: a chunk buffer underrun (zeros or stale samples inserted), a hard "
            "edit or a denormal/NaN patch; check the stream/chunk buffering and the seams, or "
            "de-click the output")
    if n_fail or len(strong) >= t["fail_count"]:
        return CheckResult("clicks", "fail", msg, strong[0][1], t["fail_ratio"] if n_fail else
                           t["warn_ratio"], "ratio", hint=hint)
    return CheckResult("clicks", "warn", msg, strong[0][1], t["warn_ratio"], "ratio", hint=hint)


@file_check("stuck_note")
def stuck_note(m, ctx: CheckContext) -> CheckResult:
    """The music develops: the spectrum is not one held sound for the whole song."""
    s, t, skip = _song(m, ctx, "stuck_note")
    if skip:
        return skip
    d = s.development
    if d.change_db is None:
        return CheckResult("stuck_note", "skip", f"too short to judge development: {d.blocks} "
                           f"audible {d.block_s:.2f} s blocks (needs 10)")
    if d.change_db < t["warn_change_db"]:
        tone = tone_skip(m, ctx, "stuck_note", "a held tone does not develop")
        if tone:
            return tone
    msg = (f"the band levels move by {d.change_db:.2f} dB over the song (median over bands of "
           f"the 90th-10th percentile of {d.block_s:.1f} s blocks, {d.blocks} blocks)")
    hint = ("one held chord or note from start to end: the sampler collapsed to a stationary "
            "output (check the guidance scale, the number of steps and the conditioning)")
    graded = _graded("stuck_note", d.change_db,
                     (("fail", t["fail_change_db"], msg + ": no development at all"),
                      ("warn", t["warn_change_db"], msg + ": almost no development")), "dB", hint,
                     below=True)
    if graded:
        return graded
    return CheckResult("stuck_note", "pass", msg, d.change_db, t["fail_change_db"], "dB")


@file_check("tempo_drift")
def tempo_drift(m, ctx: CheckContext) -> CheckResult:
    """The beat period neither drifts steadily nor jumps (skip when there is no steady beat)."""
    s, t, skip = _song(m, ctx, "tempo_drift")
    if skip:
        return skip
    tc = s.tempo
    if tc.reason is not None:
        return CheckResult("tempo_drift", "skip", f"tempo undefined: {tc.reason}")
    if tc.strength < t["min_strength"]:
        return CheckResult("tempo_drift", "skip", f"tempo undefined: no steady beat (beat "
                           f"strength {tc.strength:.2f} < {t['min_strength']:g}: speech, "
                           "rubato or beatless music)")
    if tc.scatter_pct > t["max_scatter_pct"]:
        return CheckResult("tempo_drift", "skip", f"tempo undefined: the beat period wanders by "
                           f"{tc.scatter_pct:.1f} % from window to window (> "
                           f"{t['max_scatter_pct']:g} %): rubato or a free tempo, not a grid")
    if tc.jumps:
        value = tc.jump_pct
        what = f"the beat period jumps by {tc.jump_pct:.1f} % around {tc.jump_at_s:.1f} s"
    else:
        value = abs(tc.drift_pct)
        way = "slows down" if tc.drift_pct > 0 else "speeds up"
        what = (f"the tempo {way} steadily by {value:.1f} % from {tc.times_s[0]:.0f} s to "
                f"{tc.times_s[-1]:.0f} s")
    msg = f"{tc.bpm:.1f} BPM; {what}"
    hint = ("the beat grid is not held: chunks generated or stretched at different tempi, a "
            "tempo condition lost between segments, or a resampler ratio that changes; "
            "check the per-chunk tempo/BPM conditioning and the time-stretching")
    graded = _graded("tempo_drift", value, [(k, t[f"{k}_pct"], msg) for k in ("fail", "warn")], "%", hint)
    if graded:
        return graded
    return CheckResult("tempo_drift", "pass", msg + " (natural variation)", value, t["warn_pct"], "%")
