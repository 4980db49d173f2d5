"""Checks on loudness (:mod:`qa.metrics.loudness`): the profile's integrated-loudness target,
its true-peak ceiling, and over-compression (peak-to-loudness ratio and crest factor floors)."""

from __future__ import annotations

from qa.checks.engine import CheckContext, file_check
from qa.checks.tone import tone_skip
from qa.display import fixed
from qa.results import CheckResult


def _why_none(m, metric: str) -> str:
    """The note that explains why ``metric`` is None (the metric group always writes one)."""
    notes = [n for n in m.group("loudness").notes if n.startswith(metric) or n.startswith("loudness:")]
    return notes[0] if notes else f"{metric}: n/a"


#: The delivery profiles a user can pick, named in the generic profile's messages.
DELIVERY_HINT = ("--profile streaming (-14 LUFS / -1 dBTP), broadcast (EBU R128 -23 / -1), "
                 "atsc (-24 / -2), podcast (-16 / -1) or speech")


@file_check("loudness_target")
def loudness_target(m, ctx: CheckContext) -> CheckResult:
    """Integrated loudness (BS.1770-4): near the profile's target (a delivery gate), or at least
    at a level where real music or speech sits (the default profile)."""
    lr = m.group("loudness")
    target = ctx.threshold("loudness_target", "target_lufs")
    warn_lu = ctx.threshold("loudness_target", "warn_lu")
    fail_lu = ctx.profile.optional("loudness_target", "fail_lu")
    floor = ctx.profile.optional("loudness_target", "fail_below_lufs")
    value = lr.integrated_lufs
    if value is None:
        return CheckResult("loudness_target", "skip", _why_none(m, "integrated_lufs"),
                           None, target, "LUFS")
    dev = value - target
    side = "above" if dev > 0 else "below"
    gain = f"apply {-dev:+.1f} dB of gain"
    delivery = ctx.profile.delivery

    def band(status: str, lu: float, what: str) -> CheckResult:
        edge = target + lu if dev > 0 else target - lu
        shown = fixed(abs(dev), lu)
        msg = (f"integrated {fixed(value, edge)} LUFS is {shown} LU {side} the {target:g} LUFS "
               f"{'target' if delivery else 'streaming reference'} ({what} band ±{lu:g} LU)")
        hint = (f"{gain} (a limiter if that raises the true peak above the ceiling), or pick "
                f"the profile that matches the delivery target" if delivery else
                f"nothing is broken at this level; to gate a master on a delivery target use "
                f"{DELIVERY_HINT} ({gain} would reach -14 LUFS)")
        return CheckResult("loudness_target", status, msg, value, edge, "LUFS", hint=hint)

    if floor is not None and value < floor:
        return CheckResult(
            "loudness_target", "fail",
            f"integrated {fixed(value, floor)} LUFS is below {floor:g} LUFS, where no real music "
            f"or speech sits (the quietest measured reads -32 LUFS): a gain stage was lost or "
            f"applied twice", value, floor, "LUFS",
            hint=f"find the stage that dropped the level (`audio-qa run` probes each stage); "
            f"{gain} reaches -14 LUFS")
    if fail_lu is not None and abs(dev) > fail_lu:
        return band("fail", fail_lu, "fail")
    if abs(dev) > warn_lu:
        return band("warn", warn_lu, "warn")
    edge = target + warn_lu if dev > 0 else target - warn_lu
    return CheckResult("loudness_target", "pass",
                       f"integrated {value:.1f} LUFS, within ±{warn_lu:g} LU of {target:g} LUFS",
                       value, edge, "LUFS")


@file_check("true_peak")
def true_peak(m, ctx: CheckContext) -> CheckResult:
    """True peak (4x oversampled, BS.1770-4 Annex 2): under the delivery ceiling, or (default
    profile) no inter-sample overs and nowhere near a broken level."""
    lr = m.group("loudness")
    ceiling = ctx.threshold("true_peak", "ceiling_dbtp")
    margin = ctx.threshold("true_peak", "warn_margin_db")
    warn_at = ceiling - margin
    tp = lr.true_peak_dbtp
    if tp is None:
        return CheckResult("true_peak", "skip", _why_none(m, "true_peak_dbtp"), None, ceiling, "dBTP")
    delivery = ctx.profile.delivery
    if tp > ceiling:
        what = (f"is above the {ceiling:+.1f} dBTP ceiling" if delivery else
                f"is above {ceiling:+.1f} dBTP: the signal lies far past full scale")
        hint = (f"lower the gain by {tp - ceiling:.2f} dB or use a true-peak limiter set to "
                f"{ceiling:+.1f} dBTP; sample-peak normalization does not catch inter-sample peaks"
                if delivery else "a gain was applied twice or PCM codes were left in a float "
                "signal; find the stage (`audio-qa run`) and normalize to full scale")
        return CheckResult("true_peak", "fail", f"true peak {fixed(tp, ceiling, 2, sign=True)} dBTP {what}",
                           tp, ceiling, "dBTP", hint=hint)
    if tp > warn_at:
        shown = fixed(tp, warn_at, 2, sign=True)
        msg = (f"true peak {shown} dBTP is within {margin:g} dB of the {ceiling:+.1f} dBTP ceiling"
               if delivery else f"true peak {shown} dBTP: inter-sample overs above "
               f"{warn_at:+.1f} dBTP clip in a DAC or a lossy encode")
        hint = ("lossy encoding (MP3/AAC/Opus) raises true peaks; leave more headroom" if delivery
                else f"leave headroom (a true-peak limiter at -1 dBTP); to gate a master on a "
                f"ceiling use {DELIVERY_HINT}")
        return CheckResult("true_peak", "warn", msg, tp, warn_at, "dBTP", hint=hint)
    return CheckResult("true_peak", "pass", f"true peak {tp:+.2f} dBTP (ceiling {ceiling:+.1f})",
                       tp, warn_at, "dBTP")


@file_check("over_compression")
def over_compression(m, ctx: CheckContext) -> CheckResult:
    """Enough dynamics: peak-to-loudness ratio and crest factor above the profile's floors."""
    lr = m.group("loudness")
    plr = lr.plr_db
    crest = m.levels.crest_db
    t = {k: ctx.threshold("over_compression", k)
         for k in ("fail_plr_db", "warn_plr_db", "fail_crest_db", "warn_crest_db")}
    if plr is None and crest is None:
        return CheckResult("over_compression", "skip", _why_none(m, "plr_db"), None,
                           t["fail_plr_db"], "dB")
    tone = tone_skip(m, ctx, "over_compression", "a sine's crest factor is 3 dB by nature")
    if tone:
        return tone
    parts = []
    if plr is not None:
        parts.append(f"PLR {plr:.1f} dB")
    if crest is not None:
        parts.append(f"crest {crest:.1f} dB")
    found = ", ".join(parts)
    hint = ("the output is saturated or limited flat (e.g. tanh soft clipping or a limiter "
            "driven hard); reduce the drive before the saturator or normalize by loudness, "
            "not by peak")
    # The criterion that decides is the one reported: the floor crossed by the most dB.
    for level in ("fail", "warn"):
        crossed = [(t[f"{level}_{k}_db"] - v, k, v, t[f"{level}_{k}_db"])
                   for k, v in (("plr", plr), ("crest", crest)) if v is not None and v < t[f"{level}_{k}_db"]]
        if crossed:
            _, k, v, floor = max(crossed)
            name = "PLR" if k == "plr" else "crest"
            head = "over-compressed" if level == "fail" else "heavily compressed"
            return CheckResult(
                "over_compression", level,
                f"{head}: {name} {fixed(v, floor)} dB is below the {floor:g} dB floor ({found})",
                v, floor, "dB", hint=hint,
            )
    if plr is not None:
        return CheckResult("over_compression", "pass", found, plr, t["warn_plr_db"], "dB")
    return CheckResult("over_compression", "pass", found, crest, t["warn_crest_db"], "dB")
