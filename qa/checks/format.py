"""Checks on the container: readable, layout, sample rate and duration."""

from __future__ import annotations

from qa.checks.engine import CheckContext, file_check
from qa.results import CheckResult


@file_check("readable")
def readable(m, ctx: CheckContext) -> CheckResult:
    """The file opens and decodes completely (failures come from the loader)."""
    a = m.audio
    p = a.provenance
    fmt = " ".join(x for x in (p.format, p.subtype) if x) or p.original_dtype
    return CheckResult(
        "readable", "pass",
        f"{fmt}, {a.sample_rate} Hz, {a.channels} ch, {a.duration_s:.3f} s",
    )


@file_check("layout")
def layout(m, ctx: CheckContext) -> CheckResult:
    """Channels look like channels: few of them, fewer than frames, as many as expected."""
    a = m.audio
    max_ch = ctx.threshold("layout", "max_channels")
    if a.channels > max_ch or a.channels > a.frames:
        return CheckResult(
            "layout", "fail",
            f"{a.channels} channels x {a.frames} frames: the samples were written as channels "
            "(a (samples, channels) array saved as (channels, samples))",
            a.channels, max_ch, "channels",
            hint="transpose before saving; torchaudio.save expects (channels, samples) with "
            "channels_first=True",
        )
    exp = ctx.expect_channels
    if exp is not None and a.channels != exp:
        return CheckResult(
            "layout", "fail", f"{a.channels} channels, expected {exp}", a.channels, exp, "channels",
            hint="check the rearrange stage (batch and channel axes) and the save call",
        )
    return CheckResult("layout", "pass", f"{a.channels} channels", a.channels, exp or max_ch, "channels")


@file_check("sample_rate")
def sample_rate(m, ctx: CheckContext) -> CheckResult:
    """The sample-rate label is the expected one, or at least a standard rate."""
    sr = m.audio.sample_rate
    exp = ctx.expect_sample_rate
    if exp is not None:
        if sr != exp:
            ratio = sr / exp
            return CheckResult(
                "sample_rate", "fail",
                f"labelled {sr} Hz, expected {exp} Hz: played back at {ratio:.3f}x speed "
                f"({12 * __import__('math').log2(ratio):+.2f} semitones)",
                sr, exp, "Hz",
                hint="pass the model's output rate to the writer (e.g. 44100 for DiffRhythm); "
                "resample rather than relabel",
            )
        return CheckResult("sample_rate", "pass", f"{sr} Hz as expected", sr, exp, "Hz")
    rates = ctx.threshold("sample_rate", "standard_rates")
    if sr not in rates:
        return CheckResult(
            "sample_rate", "warn", f"{sr} Hz is not a standard rate", sr, None, "Hz",
            hint="pass --expect-sample-rate to check against the rate the pipeline should write",
        )
    return CheckResult("sample_rate", "pass", f"{sr} Hz (standard; no --expect-sample-rate given)", sr, None, "Hz")


@file_check("duration")
def duration(m, ctx: CheckContext) -> CheckResult:
    """The duration matches --expect-duration within tolerance."""
    d = m.audio.duration_s
    exp = ctx.expect_duration
    min_d = ctx.threshold("duration", "min_duration_s")
    if d < min_d:
        return CheckResult("duration", "fail", f"{d:.3f} s is shorter than {min_d} s", d, min_d, "s")
    if exp is None:
        return CheckResult("duration", "pass", f"{d:.3f} s (no --expect-duration given)", d, None, "s")
    tol = max(ctx.threshold("duration", "tolerance_s"), ctx.threshold("duration", "tolerance_fraction") * exp)
    diff = d - exp
    if abs(diff) > tol:
        hint = ("about twice the expected length: batch items or songs were concatenated"
                if 1.8 <= d / exp <= 2.2 else "check the requested length and the trimming stage")
        return CheckResult(
            "duration", "fail", f"{d:.3f} s, expected {exp:.3f} s +- {tol:.3f} s ({diff:+.3f} s)",
            d, exp, "s", hint=hint,
        )
    return CheckResult("duration", "pass", f"{d:.3f} s, expected {exp:.3f} s ({diff:+.3f} s)", d, exp, "s")
