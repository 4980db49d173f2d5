"""A steady single tone is a test signal, not music: the checks that judge music (its dynamics,
its ending, its development) skip it with the reason instead of failing a calibration tone.

The measure is the content group's ``peak_fraction`` (the share of the power in the strongest
spectral line, :func:`qa.metrics.spectral.peak_fraction`); each check's own threshold is its
``tone_peak_fraction`` key in the profile. Faults stay judged: a clipped or wrapped tone still
fails ``clipping`` and ``wrap``, which do not ask this.
"""

from __future__ import annotations

from qa.checks.engine import CheckContext
from qa.results import CheckResult


def tone_skip(m, ctx: CheckContext, check_id: str, why: str) -> CheckResult | None:
    """The skip of ``check_id`` when the file is a steady single tone, else None; ``why`` says
    what the check would misjudge (e.g. "a sine's crest factor is 3 dB by nature")."""
    pf = m.group("content").peak_fraction
    if pf is None or pf < ctx.threshold(check_id, "tone_peak_fraction"):
        return None
    return CheckResult(check_id, "skip", f"a steady single tone ({pf:.0%} of the power in one "
                       f"spectral line): a test signal, not music; {why}")
