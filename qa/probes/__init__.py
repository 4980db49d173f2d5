"""Staged probes: record what every stage of a generation pipeline produced (shape, dtype,
device, layout, levels, non-finite values, time, memory), judge each stage, and name the
first stage that went wrong. See :mod:`qa.probes.probe` for the API."""

from qa.probes.checks import STAGE_CHECKS, describe_change, first_bad_stage, run_stage_checks
from qa.probes.probe import DEFAULT_BUDGET_S, Probe, StageHandle
from qa.probes.record import StageRecord, StageSpec
from qa.probes.stats import StageStats, stage_stats
from qa.probes.watchdog import StallWatchdog

__all__ = [
    "DEFAULT_BUDGET_S", "Probe", "StageHandle", "StageRecord", "StageSpec", "StageStats",
    "StallWatchdog", "STAGE_CHECKS", "describe_change", "first_bad_stage", "run_stage_checks",
    "stage_stats",
]
