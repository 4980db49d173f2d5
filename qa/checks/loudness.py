"""Checks on loudness (:mod:`qa.metrics.loudness`): the profile's integrated-loudness target,
its true-peak ceiling, and over-compression (peak-to-loudness ratio and crest factor floors)."""

from __future__ import annotations

from qa.checks.engine import CheckContext, file_check
from qa.results import CheckResult


def _why_none(m, metric: str) -> str:
    """The note that explains why ``metric`` is None (the metric group always writes one)."""
    notes = [n for n in m.group("loudness").notes if n.startswith(metric) or n.startswith("loudness:")]
    return notes[0] if notes else f"{metric}: n/a"


@file_check("loudness_target")
def loudness_target(m, ctx: CheckContext) -> CheckResult:
    """Integrated loudness (BS.1770-4) is within the profile's tolerance of its target."""
    lr = m.group("loudness")
    target = ctx.threshold("loudness_target", "target_lufs")
    warn_lu = ctx.threshold("loudness_target", "warn_lu")
    fail_lu = ctx.threshold("loudness_target", "fail_lu")
    value = lr.integrated_lufs
    if value is None:
        return CheckResult("loudness_target", "skip", _why_none(m, "integrated_lufs"),
                           None, target, "LUFS")
    dev = value - target
    where = f"{abs(dev):.1f} LU {'above' if dev > 0 else 'below'}"
    msg = f"integrated {value:.1f} LUFS is {where} the {target:.0f} LUFS target"
    hint = (f"apply {-dev:+.1f} dB of gain (a limiter if that raises the true peak above the "
            f"ceiling), or pick the profile that matches the delivery target")
    if abs(dev) > fail_lu:
        return CheckResult("loudness_target", "fail", f"{msg} (fail band ±{fail_lu:g} LU)",
                           value, target, "LUFS", hint=hint)
    if abs(dev) > warn_lu:
        return CheckResult("loudness_target", "warn", f"{msg} (warn band ±{warn_lu:g} LU)",
                           value, target, "LUFS", hint=hint)
    return CheckResult("loudness_target", "pass",
                       f"integrated {value:.1f} LUFS, within ±{warn_lu:g} LU of {target:.0f} LUFS",
                       value, target, "LUFS")


@file_check("true_peak")
def true_peak(m, ctx: CheckContext) -> CheckResult:
    """True peak (4x oversampled, BS.1770-4 Annex 2) stays under the profile's ceiling."""
    lr = m.group("loudness")
    ceiling = ctx.threshold("true_peak", "ceiling_dbtp")
    margin = ctx.threshold("true_peak", "warn_margin_db")
    tp = lr.true_peak_dbtp
    if tp is None:
        return CheckResult("true_peak", "skip", _why_none(m, "true_peak_dbtp"), None, ceiling, "dBTP")
    if tp > ceiling:
        return CheckResult(
            "true_peak", "fail", f"true peak {tp:+.2f} dBTP is above the {ceiling:+.1f} dBTP ceiling",
            tp, ceiling, "dBTP",
            hint=f"lower the gain by {tp - ceiling:.2f} dB or use a true-peak limiter set to "
            f"{ceiling:+.1f} dBTP; sample-peak normalization does not catch inter-sample peaks",
        )
    if tp > ceiling - margin:
        return CheckResult(
            "true_peak", "warn",
            f"true peak {tp:+.2f} dBTP is within {margin:g} dB of the {ceiling:+.1f} dBTP ceiling",
            tp, ceiling, "dBTP",
            hint="lossy encoding (MP3/AAC/Opus) raises true peaks; leave more headroom",
        )
    return CheckResult("true_peak", "pass", f"true peak {tp:+.2f} dBTP (ceiling {ceiling:+.1f})",
                       tp, ceiling, "dBTP")


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
    parts = []
    if plr is not None:
        parts.append(f"PLR {plr:.1f} dB")
    if crest is not None:
        parts.append(f"crest {crest:.1f} dB")
    found = ", ".join(parts)
    hint = ("the output is saturated or limited flat (e.g. tanh soft clipping or a limiter "
            "driven hard); reduce the drive before the saturator or normalize by loudness, "
            "not by peak")
    if (plr is not None and plr < t["fail_plr_db"]) or (crest is not None and crest < t["fail_crest_db"]):
        return CheckResult(
            "over_compression", "fail",
            f"over-compressed: {found} (floors: PLR {t['fail_plr_db']:g} dB, crest "
            f"{t['fail_crest_db']:g} dB)",
            plr if plr is not None else crest, t["fail_plr_db"] if plr is not None else t["fail_crest_db"],
            "dB", hint=hint,
        )
    if (plr is not None and plr < t["warn_plr_db"]) or (crest is not None and crest < t["warn_crest_db"]):
        return CheckResult(
            "over_compression", "warn",
            f"heavily compressed: {found} (warn below PLR {t['warn_plr_db']:g} dB or crest "
            f"{t['warn_crest_db']:g} dB)",
            plr if plr is not None else crest, t["warn_plr_db"] if plr is not None else t["warn_crest_db"],
            "dB", hint=hint,
        )
    return CheckResult("over_compression", "pass", found, plr if plr is not None else crest,
                       t["fail_plr_db"] if plr is not None else t["fail_crest_db"], "dB")
