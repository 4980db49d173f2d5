"""Checks on sample-level statistics (:mod:`qa.metrics.levels`)."""

from __future__ import annotations

from qa.checks.engine import CheckContext, file_check
from qa.display import fixed
from qa.metrics.levels import db
from qa.results import CheckResult


def _fmt_db(v: float | None) -> str:
    return "-inf dBFS" if v is None else f"{v:.1f} dBFS"


def _time(frame: int, rate: int) -> str:
    return f"{frame / rate:.3f} s (frame {frame})"


@file_check("finite")
def finite(m, ctx: CheckContext) -> CheckResult:
    """Every sample is a finite number (no NaN or infinity)."""
    lv = m.levels
    n = lv.nonfinite_count
    limit = ctx.threshold("finite", "fail_count")
    if n < limit:
        return CheckResult("finite", "pass", "no NaN or infinite samples", n, limit, "samples")
    ch, fr = lv.first_nonfinite
    return CheckResult(
        "finite", "fail",
        f"{n} non-finite samples (NaN/inf), the first in channel {ch} at "
        f"{_time(fr, m.audio.sample_rate)}",
        n, limit, "samples",
        hint="find the stage that produced them (`audio-qa run` probes each stage); float16 "
        "overflow and 0/0 in peak normalization are the usual causes",
    )


@file_check("not_silent")
def not_silent(m, ctx: CheckContext) -> CheckResult:
    """The file carries signal: peak and RMS above the silence floor."""
    lv = m.levels
    fail_peak = ctx.threshold("not_silent", "fail_peak_dbfs")
    warn_rms = ctx.threshold("not_silent", "warn_rms_dbfs")
    peak_db, rms_db = db(lv.peak), db(lv.rms)
    if lv.peak == 0.0:
        return CheckResult(
            "not_silent", "fail", "every sample is zero: the file is digital silence",
            None, fail_peak, "dBFS",
            hint="a swallowed exception or a failed decode often returns zeros; check the "
            "generation log and the stage probes",
        )
    if peak_db < fail_peak:
        return CheckResult(
            "not_silent", "fail",
            f"near-silent: peak {_fmt_db(peak_db)} is below {fail_peak:.0f} dBFS "
            f"(RMS {_fmt_db(rms_db)})",
            peak_db, fail_peak, "dBFS",
            hint="the output was scaled down or the model produced almost nothing; check gain "
            "and normalization stages",
        )
    if rms_db is not None and rms_db < warn_rms:
        return CheckResult(
            "not_silent", "warn",
            f"very quiet: RMS {_fmt_db(rms_db)} is below {warn_rms:.0f} dBFS (peak {_fmt_db(peak_db)})",
            rms_db, warn_rms, "dBFS",
            hint="check that the level is intended; normalize to the profile's loudness target",
        )
    return CheckResult(
        "not_silent", "pass", f"peak {_fmt_db(peak_db)}, RMS {_fmt_db(rms_db)}",
        peak_db, fail_peak, "dBFS",
    )


@file_check("channel_silent")
def channel_silent(m, ctx: CheckContext) -> CheckResult:
    """No channel is dead while the others carry signal."""
    lv = m.levels
    if len(lv.channels) < 2:
        return CheckResult("channel_silent", "skip", "mono: nothing to compare")
    rms = [c.rms for c in lv.channels]
    loud = max(rms)
    if loud == 0.0:
        return CheckResult("channel_silent", "skip", "every channel is silent (see not_silent)")
    fail_db = ctx.threshold("channel_silent", "fail_below_loudest_db")
    warn_db = ctx.threshold("channel_silent", "warn_below_loudest_db")
    below = [(abs(db(r / loud)) if r > 0 else None) for r in rms]
    worst_i = min(range(len(rms)), key=lambda i: rms[i])
    worst = below[worst_i]
    value = worst  # dB below the loudest channel; None = digital silence
    if worst is None or worst >= fail_db:
        what = "all zero" if worst is None else f"{worst:.1f} dB below the loudest channel"
        return CheckResult(
            "channel_silent", "fail", f"channel {worst_i} is dead: {what}",
            value, fail_db, "dB",
            hint="a channel was dropped or zeroed (e.g. a mono tensor padded to stereo); check "
            "the rearrange and save stages",
        )
    if worst >= warn_db:
        return CheckResult(
            "channel_silent", "warn", f"channel {worst_i} is {worst:.1f} dB below the loudest",
            value, warn_db, "dB", hint="check the panning or the channel mapping",
        )
    return CheckResult(
        "channel_silent", "pass", f"channels within {worst:.1f} dB of each other",
        value, fail_db, "dB",
    )


@file_check("clipping")
def clipping(m, ctx: CheckContext) -> CheckResult:
    """Few samples sit at a rail in flat-topped runs: full scale, or a clamp below it."""
    lv = m.levels
    frac = lv.clipped_fraction
    fail_frac = ctx.threshold("clipping", "fail_fraction")
    warn_runs = ctx.threshold("clipping", "warn_runs")
    full = lv.clip_rail >= 1.0
    rail = "full scale" if full else f"a rail at {_fmt_db(db(lv.clip_rail))}, below full scale"
    detail = (
        f"{fixed(100 * frac, 100 * fail_frac, 2)}% of samples sit at {rail} in {lv.clip_runs} "
        f"runs (longest run {lv.longest_clip_run} samples)"
    )
    hint = ("reduce gain before the int16 conversion or use a limiter" if full else
            "a clamp (a crude ceiling stage) flattened the peaks; lower the gain before it or "
            "use a true-peak limiter instead of a clamp")
    if frac > fail_frac:
        return CheckResult("clipping", "fail", detail, frac, fail_frac, "fraction", hint=hint)
    if lv.clip_runs >= warn_runs:
        return CheckResult("clipping", "warn", detail, lv.clip_runs, warn_runs, "runs", hint=hint)
    return CheckResult("clipping", "pass", "no clipped runs", frac, fail_frac, "fraction")


@file_check("int16_wrap")
def int16_wrap(m, ctx: CheckContext) -> CheckResult:
    """No integer wrap-around: a jump from one rail to the other that continues the waveform."""
    lv = m.levels
    limit = ctx.threshold("int16_wrap", "fail_count")
    n = lv.wrap_jumps
    if n >= limit and lv.clipped_samples:
        # An unclamped cast never holds a rail; flat tops at a rail mean the signal was clamped,
        # and its rail-to-rail flips are clipping's (a wrap is a jump across the range).
        return CheckResult(
            "int16_wrap", "pass",
            f"no wrap-around: the {n} rail-to-rail jumps belong to a clamped signal with flat "
            f"tops at the rail (see clipping)", 0, limit, "jumps")
    if n >= limit:
        return CheckResult(
            "int16_wrap", "fail",
            f"{n} wrap-around jumps (a sample past full scale reappearing at the opposite rail), "
            f"the first at {_time(lv.first_wrap, m.audio.sample_rate)}",
            n, limit, "jumps",
            hint="clamp to [-1, 1] before `(x * 32767).to(torch.int16)`; integer casts wrap "
            "instead of clipping",
        )
    return CheckResult("int16_wrap", "pass", "no wrap-around jumps", n, limit, "jumps")


@file_check("quantization")
def quantization(m, ctx: CheckContext) -> CheckResult:
    """Enough distinct sample values: not a square wave or a few-bit signal."""
    lv = m.levels
    n = lv.distinct_values
    if lv.peak == 0.0:
        return CheckResult("quantization", "skip", "digital silence (see not_silent)", n, None, "values")
    if lv.samples < ctx.threshold("quantization", "min_samples"):
        return CheckResult(
            "quantization", "skip", f"only {lv.samples} samples, too short to judge", n, None, "values"
        )
    fail_n = ctx.threshold("quantization", "fail_distinct")
    warn_n = ctx.threshold("quantization", "warn_distinct")
    if n <= fail_n:
        return CheckResult(
            "quantization", "fail",
            f"only {n} distinct sample values: the signal is a square wave or a few-bit staircase",
            n, fail_n, "values",
            hint="an int16 PCM-scale tensor was probably handed to a float API (torchaudio >= 2.9 "
            "clamps it to +-1); pass float in [-1, 1] or use `qa.io.save_audio`",
        )
    if n <= warn_n:
        return CheckResult(
            "quantization", "warn", f"only {n} distinct sample values: coarse quantization",
            n, warn_n, "values", hint="check the bit depth of the conversion and the level",
        )
    return CheckResult("quantization", "pass", f"{n} distinct sample values", n, fail_n, "values")


@file_check("dc_offset")
def dc_offset(m, ctx: CheckContext) -> CheckResult:
    """The mean of every channel is near zero."""
    lv = m.levels
    dc = lv.dc
    warn_abs = ctx.threshold("dc_offset", "warn_abs")
    fail_abs = ctx.threshold("dc_offset", "fail_abs")
    ch = max(range(len(lv.channels)), key=lambda i: abs(lv.channels[i].dc))
    msg = f"DC offset {dc:+.4f} full scale ({_fmt_db(db(abs(dc)))}) in channel {ch}"
    hint = "apply a high-pass filter (e.g. 20 Hz) or subtract the mean before normalization"
    if abs(dc) >= fail_abs:
        return CheckResult("dc_offset", "fail", msg, dc, fail_abs, "full_scale", hint=hint)
    if abs(dc) >= warn_abs:
        return CheckResult("dc_offset", "warn", msg, dc, warn_abs, "full_scale", hint=hint)
    return CheckResult("dc_offset", "pass", msg, dc, fail_abs, "full_scale")


@file_check("denormals")
def denormals(m, ctx: CheckContext) -> CheckResult:
    """Few or no denormal (subnormal) float samples."""
    lv = m.levels
    n = lv.denormal_count
    frac = n / lv.samples if lv.samples else 0.0
    fail_f = ctx.threshold("denormals", "fail_fraction")
    warn_f = ctx.threshold("denormals", "warn_fraction")
    msg = f"{n} denormal samples ({frac:.3%})"
    hint = ("a decay or filter tail ran into subnormal floats; flush to zero below ~1e-30 or "
            "add a tiny DC/noise floor in the DSP")
    if frac > fail_f:
        return CheckResult("denormals", "fail", msg, frac, fail_f, "fraction", hint=hint)
    if frac > warn_f:
        return CheckResult("denormals", "warn", msg, frac, warn_f, "fraction", hint=hint)
    return CheckResult("denormals", "pass", "no denormal samples", frac, fail_f, "fraction")
