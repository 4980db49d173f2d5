"""Stage checks: verdicts on one :class:`~qa.probes.record.StageRecord`, and the run's
``first_bad_stage`` with what changed between the last good stage and it.

Every threshold comes from the profile (``[default.stage_*]`` in qa/profiles.toml, or the file
check it mirrors), so a stage and the output file are judged by the same numbers.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from qa.metrics.levels import db
from qa.probes.record import StageRecord
from qa.probes.stats import FLOAT16_MAX
from qa.profiles import Profile
from qa.results import CheckResult

StageCheck = Callable[[StageRecord, Profile], "CheckResult | None"]


def _fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "n/a"
    return f"{x:.4g}{unit}"


def _dbfs(x: float) -> str:
    v = db(x)
    return "-inf dBFS" if v is None else f"{v:.1f} dBFS"


def stage_finite(r: StageRecord, p: Profile) -> CheckResult:
    s = r.stats
    if s.nonfinite:
        return CheckResult(
            "stage_finite", "fail",
            f"{r.name}: {s.nonfinite} of {s.numel} values are NaN or Inf ({s.dtype})",
            s.nonfinite, 0, "values",
            hint=("float16 overflows past 65504 to Inf and Inf - Inf is NaN: compute in float32 "
                  "or bfloat16" if s.dtype == "float16" else
                  "look for 0/0 (normalizing silence), log(0) or an overflow in this stage"),
        )
    return CheckResult("stage_finite", "pass", f"{r.name}: all {s.numel} values finite", 0, 0, "values")


def stage_not_silent(r: StageRecord, p: Profile) -> CheckResult | None:
    if r.spec.kind == "control" or r.spec.silent_ok:
        return None
    s = r.stats
    floor = p.get("not_silent", "fail_peak_dbfs")
    pk = db(s.peak)
    if pk is None or pk < floor:
        what = "every value is zero" if s.peak == 0 else f"peak {_dbfs(s.peak)}"
        return CheckResult(
            "stage_not_silent", "fail", f"{r.name}: {what} (floor {floor:.0f} dBFS)", pk, floor, "dBFS",
            hint="a swallowed exception or a failed decode returns zeros; check this stage's log",
        )
    return CheckResult("stage_not_silent", "pass", f"{r.name}: peak {_dbfs(s.peak)}", pk, floor, "dBFS")


def stage_shape(r: StageRecord, p: Profile) -> CheckResult | None:
    spec, s = r.spec, r.stats
    if spec.shape is None and spec.rank is None:
        return None
    got = list(s.shape)
    if spec.rank is not None and len(got) != spec.rank:
        return CheckResult("stage_shape", "fail",
                           f"{r.name}: shape {got} has rank {len(got)}, expected rank {spec.rank} "
                           f"({spec.layout or 'no layout declared'})", len(got), spec.rank, "dims")
    if spec.shape is not None:
        want = list(spec.shape)
        ok = len(got) == len(want) and all(w is None or w == g for w, g in zip(want, got))
        if not ok:
            shown = ["*" if w is None else w for w in want]
            hint = "check the rearrange / transpose of this stage"
            if len(got) == len(want) == 2 and got == [want[1], want[0]]:
                hint = "the axes are swapped: (samples, channels) where (channels, samples) was expected; transpose"
            elif len(got) == len(want) and any(w and g and g % w == 0 and g != w for w, g in zip(want, got)):
                hint = "an axis is a multiple of the expected size: batch items were concatenated"
            elif len(got) == len(want) and all(w is None or g <= w for w, g in zip(want, got)):
                hint = ("an axis is shorter than requested: the generation stopped early (a token "
                        "or length limit) or a chunk was lost; raise the limit or check the length asked for")
            return CheckResult("stage_shape", "fail",
                               f"{r.name}: shape {got}, expected {shown} ({spec.layout or 'no layout'})",
                               None, None, None, hint=hint)
    return CheckResult("stage_shape", "pass", f"{r.name}: shape {got} as declared")


def stage_range(r: StageRecord, p: Profile) -> CheckResult | None:
    spec, s = r.spec, r.stats
    if spec.kind == "control":
        return None
    is_float = s.dtype.startswith(("float", "bfloat"))
    pcm_peak = p.get("stage_range", "pcm_scale_peak")
    if spec.kind == "audio" and is_float and s.peak >= pcm_peak:
        kind = "integer-valued " if s.integral else ""
        return CheckResult(
            "stage_range", "fail",
            f"{r.name}: {kind}float samples with peak {s.peak:.6g}: int16 PCM scale handed to a "
            "float consumer (it expects [-1, 1] and will clamp to a square wave)",
            s.peak, pcm_peak, "full_scale",
            hint="divide by 32768 (or pass the int16 tensor with its dtype) before a float writer",
        )
    if s.dtype == "float16":
        lim = p.get("stage_range", "float16_fail_fraction") * FLOAT16_MAX
        if s.peak >= lim:
            return CheckResult("stage_range", "fail",
                               f"{r.name}: float16 values reach {s.peak:.6g}, near its 65504 limit",
                               s.peak, lim, "value", hint="compute this stage in float32 or bfloat16")
    if spec.kind == "pcm" and s.full_scale and s.max_step is not None:
        wrap = p.get("stage_range", "wrap_step_fs")
        if s.max_step > wrap:
            return CheckResult(
                "stage_range", "fail",
                f"{r.name}: a {s.max_step:.3f} full-scale jump between adjacent {s.dtype} samples: "
                "integer wrap-around", s.max_step, wrap, "full_scale",
                hint="clamp to [-1, 1] before `(x * 32767).to(torch.int16)`",
            )
    if spec.feeds_int and is_float and s.peak > 1.0:
        return CheckResult("stage_range", "fail",
                           f"{r.name}: peak {s.peak:.4g} outside [-1, 1] before an integer conversion",
                           s.peak, 1.0, "full_scale", hint="clamp or limit before converting to PCM")
    if spec.max_peak_dbfs is not None and spec.kind in ("audio", "pcm"):
        pk = db(s.peak)
        if pk is not None and pk > spec.max_peak_dbfs:
            return CheckResult(
                "stage_range", "fail",
                f"{r.name}: sample peak {pk:.2f} dBFS above the stage ceiling {spec.max_peak_dbfs} dBFS: "
                "inter-sample peaks will exceed the true-peak limit",
                pk, spec.max_peak_dbfs, "dBFS", hint="use a true-peak limiter, not peak normalization to 0 dBFS",
            )
    return CheckResult("stage_range", "pass", f"{r.name}: peak {s.peak:.4g} within range", s.peak, None, "full_scale")


def stage_dc(r: StageRecord, p: Profile) -> CheckResult | None:
    s = r.stats
    if r.spec.kind not in ("audio", "pcm") or not s.channel_rms or s.peak == 0:
        return None
    lim = p.get("dc_offset", "fail_abs")
    rel = abs(s.dc) / s.peak
    if rel >= lim:
        return CheckResult("stage_dc", "fail",
                           f"{r.name}: DC offset {s.dc:+.4g} is {rel:.1%} of the peak", rel, lim,
                           "fraction_of_peak", hint="a bias was added; high-pass or subtract the mean")
    return CheckResult("stage_dc", "pass", f"{r.name}: DC {rel:.2%} of the peak", rel, lim, "fraction_of_peak")


def stage_channels(r: StageRecord, p: Profile) -> CheckResult | None:
    s = r.stats
    if r.spec.kind not in ("audio", "pcm") or len(s.channel_rms) < 2 or max(s.channel_rms) == 0:
        return None
    lim = p.get("channel_silent", "fail_below_loudest_db")
    loud = max(s.channel_rms)
    i = min(range(len(s.channel_rms)), key=lambda k: s.channel_rms[k])
    quiet = s.channel_rms[i]
    below = None if quiet == 0 else -db(quiet / loud)
    if below is None or below >= lim:
        what = "all zero" if below is None else f"{below:.1f} dB below the loudest"
        return CheckResult("stage_channels", "fail", f"{r.name}: channel {i} is dead ({what})",
                           below, lim, "dB", hint="a mono signal was padded to stereo with zeros")
    return CheckResult("stage_channels", "pass", f"{r.name}: channels within {below:.1f} dB", below, lim, "dB")


def stage_phase(r: StageRecord, p: Profile) -> CheckResult | None:
    s = r.stats
    if r.spec.kind not in ("audio", "pcm") or s.lr_correlation is None:
        return None
    lim = p.get("stage_phase", "fail_correlation")
    c = s.lr_correlation
    if c <= lim:
        return CheckResult("stage_phase", "fail",
                           f"{r.name}: left/right correlation {c:+.3f}: one channel is phase-inverted",
                           c, lim, "correlation", hint="a sign error in M/S or channel processing")
    return CheckResult("stage_phase", "pass", f"{r.name}: left/right correlation {c:+.3f}", c, lim, "correlation")


def stage_dynamics(r: StageRecord, p: Profile) -> CheckResult | None:
    s = r.stats
    if r.spec.kind != "audio" or not s.channel_rms or s.crest_db is None:
        return None
    lim = p.get("stage_dynamics", "fail_crest_db")
    if s.crest_db < lim:
        return CheckResult("stage_dynamics", "fail",
                           f"{r.name}: crest factor {s.crest_db:.1f} dB: the waveform is squashed flat "
                           "(saturation or over-compression)", s.crest_db, lim, "dB",
                           hint="reduce drive into tanh/soft clipping; let the limiter set the peak")
    return CheckResult("stage_dynamics", "pass", f"{r.name}: crest factor {s.crest_db:.1f} dB", s.crest_db, lim, "dB")


def stage_dropout(r: StageRecord, p: Profile) -> CheckResult | None:
    s = r.stats
    if r.spec.kind not in ("audio", "pcm") or s.longest_zero_run_s is None:
        return None
    lim = p.get("stage_dropout", "fail_longest_s")
    v = s.longest_zero_run_s
    if v >= lim:
        return CheckResult("stage_dropout", "fail",
                           f"{r.name}: {v * 1000:.0f} ms of digital silence inside the signal",
                           v, lim, "s", hint="a chunk or buffer was zero-filled (a swallowed error?)")
    return CheckResult("stage_dropout", "pass", f"{r.name}: longest interior silence {v * 1000:.0f} ms", v, lim, "s")


def stage_seams(r: StageRecord, p: Profile) -> CheckResult | None:
    s = r.stats
    if not r.seams or s.seam_ratio is None:
        return None
    lim = p.get("stage_seams", "fail_step_ratio")
    if s.seam_ratio >= lim:
        return CheckResult("stage_seams", "fail",
                           f"{r.name}: the jump at the chunk seam at sample {s.seam_worst} is "
                           f"{s.seam_ratio:.1f}x the typical step around it ({len(r.seams)} seams)",
                           s.seam_ratio, lim, "ratio", hint="decode chunks with overlap and trim or crossfade it")
    return CheckResult("stage_seams", "pass",
                       f"{r.name}: {len(r.seams)} seams, worst jump {s.seam_ratio:.1f}x the typical step",
                       s.seam_ratio, lim, "ratio")


def stage_sample_rate(r: StageRecord, p: Profile) -> CheckResult | None:
    want = r.spec.sample_rate
    if want is None or r.sample_rate is None:
        return None
    if r.sample_rate != want:
        return CheckResult("stage_sample_rate", "fail",
                           f"{r.name}: labelled {r.sample_rate} Hz, the pipeline runs at {want} Hz "
                           f"(plays at {r.sample_rate / want:.3f}x speed)", r.sample_rate, want, "Hz",
                           hint="pass the model's rate to the writer; resample rather than relabel")
    return CheckResult("stage_sample_rate", "pass", f"{r.name}: {want} Hz", r.sample_rate, want, "Hz")


def stage_dead_air(r: StageRecord, p: Profile) -> CheckResult | None:
    """Digital silence before the music starts or after it ends (the file check ``dead_air``'s
    thresholds; a stage sees exact zeros, the file check near-silence too)."""
    s = r.stats
    if r.spec.kind not in ("audio", "pcm") or s.lead_zero_s is None:
        return None
    t = p.section("dead_air")
    worst, where = max((s.lead_zero_s, "start"), (s.trail_zero_s, "end"))
    msg = f"{r.name}: {s.lead_zero_s:.2f} s of digital silence at the start, {s.trail_zero_s:.2f} s at the end"
    for status in ("fail", "warn"):
        lim = t[f"{status}_s"]
        if worst >= lim:
            return CheckResult("stage_dead_air", status, f"{msg}: the song {'starts late' if where == 'start' else 'stops early'}",
                               worst, lim, "s", hint="a late start or an output buffer longer than "
                               "the generated audio; compare the frames generated with the frames requested")
    return CheckResult("stage_dead_air", "pass", msg, worst, t["warn_s"], "s")


def stage_clicks(r: StageRecord, p: Profile) -> CheckResult | None:
    """Short holes of exact zero inside loud signal: a buffer underrun (each one a click)."""
    g = r.stats.gaps
    if r.spec.kind not in ("audio", "pcm") or g is None:
        return None
    lim = p.get("stage_clicks", "fail_gaps")
    if g.count >= lim:
        rate = r.sample_rate or r.spec.sample_rate or 44100
        at = ", ".join(f"{a / rate:.3f} s ({n} samples)" for a, n in g.listed[:6])
        more = f" and {g.count - 6} more" if g.count > 6 else ""
        return CheckResult("stage_clicks", "fail",
                           f"{r.name}: {g.count} gap(s) of exact digital zero inside loud signal at {at}{more}",
                           g.count, lim, "gaps", hint="a buffer underrun: the consumer read a chunk "
                           "buffer before it was written; wait for the producer or hold the last samples")
    return CheckResult("stage_clicks", "pass", f"{r.name}: no gap of digital zero inside the signal",
                       g.count, lim, "gaps")


def stage_repetition(r: StageRecord, p: Profile) -> CheckResult | None:
    """A latent whose frames repeat a short span near-exactly over a long stretch (a stuck
    sampler); the fractions are the file check ``repetition``'s."""
    if r.spec.kind != "latent" or r.spec.layout != "batch_frames_channels" or r.stats.shape[1:2] == (0,):
        return None
    t = p.section("repetition")
    loop, fr = r.stats.loop, r.spec.frame_rate
    key = "fraction_to_end" if loop is None or loop.to_end else "fraction"
    if loop is None:
        return CheckResult("stage_repetition", "pass", f"{r.name}: no frame repeats the frames "
                           "before it", 0.0, t[f"fail_{key}"], "fraction")

    def when(frames: int) -> str:
        return f"frame {frames}" + (f" ({frames / fr:.1f} s)" if fr else "")

    span = f"{loop.lag} frames" + (f" ({loop.lag / fr:.2f} s)" if fr else "")
    msg = (f"{r.name}: a span of {span} repeats exactly from {when(loop.start - loop.lag)} to "
           f"{when(loop.end)}, {loop.fraction:.0%} of the frames"
           + (", to the end" if loop.to_end else ""))
    for status in ("fail", "warn"):
        lim = t[f"{status}_{key}"]
        if loop.fraction >= lim:
            return CheckResult("stage_repetition", status, msg + ": the sampler is stuck in a loop",
                               loop.fraction, lim, "fraction", hint="the sampler or its context "
                               "window stopped advancing: check the repetition penalty, the "
                               "temperature and the chunk/window index")
    return CheckResult("stage_repetition", "pass", msg, loop.fraction, t[f"fail_{key}"], "fraction")


#: Run order of the stage checks.
STAGE_CHECKS: list[StageCheck] = [
    stage_finite, stage_not_silent, stage_shape, stage_range, stage_dc, stage_channels,
    stage_phase, stage_dynamics, stage_dropout, stage_seams, stage_sample_rate,
    stage_repetition, stage_dead_air, stage_clicks,
]


def run_stage_checks(r: StageRecord, profile: Profile) -> list[CheckResult]:
    """All stage checks that apply to ``r`` (plus the stall verdict), in run order."""
    out: list[CheckResult] = []
    if r.stall is not None:
        out.append(CheckResult(
            "stage_stall", "fail",
            f"{r.name}: still running after its {r.stall['budget_s']:.3g} s budget; the stacks of "
            f"{len(r.stall['threads'])} threads were captured (see 'stall')",
            r.stall["elapsed_s"], r.stall["budget_s"], "s",
            hint="the stack of the blocked thread shows the call that hung"))
    if r.error is not None:
        out.append(CheckResult("stage_error", "error", f"{r.name}: {r.error}"))
    if r.stats is None:
        return out
    for fn in STAGE_CHECKS:
        c = fn(r, profile)
        if c is not None:
            out.append(c)
    return out


def first_bad_stage(records: Sequence[StageRecord]) -> tuple[str | None, CheckResult]:
    """The first failing stage and a check whose message says what changed since the last
    good stage before it."""
    last_good: StageRecord | None = None
    for r in records:
        if r.ok:
            last_good = r
            continue
        failed = [c for c in r.checks if c.status in ("fail", "error")]
        what = "; ".join(c.message for c in failed)
        change = describe_change(last_good, r)
        msg = f"first bad stage '{r.name}' (#{r.index}): {what}"
        msg += f". Since '{last_good.name}': {change}" if last_good else ". It is the first stage."
        return r.name, CheckResult("first_bad_stage", "fail", msg, r.index, None, "stage",
                                   hint=failed[0].hint if failed else None)
    return None, CheckResult("first_bad_stage", "pass", f"all {len(records)} stages passed")


def describe_change(a: StageRecord | None, b: StageRecord) -> str:
    """A short list of what differs between two stage records (shape, dtype, levels, ...)."""
    if a is None or a.stats is None or b.stats is None:
        return "no statistics to compare"
    x, y = a.stats, b.stats
    parts = []
    if x.shape != y.shape:
        parts.append(f"shape {list(x.shape)} -> {list(y.shape)}")
    if x.dtype != y.dtype:
        parts.append(f"dtype {x.dtype} -> {y.dtype}")
    if a.spec.layout != b.spec.layout:
        parts.append(f"layout {a.spec.layout} -> {b.spec.layout}")
    if x.nonfinite != y.nonfinite:
        parts.append(f"non-finite {x.nonfinite} -> {y.nonfinite}")
    for name, u, v in (("peak", x.peak, y.peak), ("rms", x.rms, y.rms)):
        if not math.isclose(u, v, rel_tol=0.05, abs_tol=1e-9):
            parts.append(f"{name} {u:.4g} -> {v:.4g}")
    if abs(x.dc - y.dc) > 1e-3 * max(x.peak, y.peak, 1e-12):
        parts.append(f"dc {x.dc:+.4g} -> {y.dc:+.4g}")
    if x.channel_rms and y.channel_rms and len(x.channel_rms) == len(y.channel_rms):
        if any(not math.isclose(u, v, rel_tol=0.5, abs_tol=1e-9) for u, v in zip(x.channel_rms, y.channel_rms)):
            parts.append("channel rms " + ", ".join(f"{u:.3g}->{v:.3g}" for u, v in zip(x.channel_rms, y.channel_rms)))
    if x.lr_correlation is not None and y.lr_correlation is not None and abs(x.lr_correlation - y.lr_correlation) > 0.2:
        parts.append(f"L/R correlation {x.lr_correlation:+.2f} -> {y.lr_correlation:+.2f}")
    cx, cy = x.crest_db, y.crest_db
    if cx is not None and cy is not None and abs(cx - cy) > 3:
        parts.append(f"crest {cx:.1f} -> {cy:.1f} dB")
    if (x.longest_zero_run_s or 0) < (y.longest_zero_run_s or 0):
        parts.append(f"longest interior silence {x.longest_zero_run_s or 0:.3f} -> {y.longest_zero_run_s:.3f} s")
    if a.sample_rate and b.sample_rate and a.sample_rate != b.sample_rate:
        parts.append(f"sample rate {a.sample_rate} -> {b.sample_rate} Hz")
    return ", ".join(parts) or "no change in shape, dtype or levels"
