"""Registry and runner of the file checks."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from qa.loading import ReadOptions
from qa.profiles import Profile, load_profile
from qa.results import CheckResult


@dataclass(frozen=True)
class CheckContext:
    """What a check may know besides the measurements: thresholds and expectations.

    ``seams`` are frame positions where the caller knows chunks were joined (the pipeline's
    chunked decoder); ``read`` are the limits and choices of reading a file (decode budget,
    longest duration, raw format); ``extra`` carries anything a later check needs without a
    schema change.
    """

    profile: Profile = field(default_factory=load_profile)
    expect_sample_rate: int | None = None
    expect_duration: float | None = None
    expect_channels: int | None = None
    seams: tuple[int, ...] | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def threshold(self, check_id: str, key: str) -> Any:
        return self.profile.get(check_id, key)


CheckFn = Callable[[Any, CheckContext], CheckResult]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    fn: CheckFn
    description: str


#: Every file check in run order: the order of the JSON and of the human table.
FILE_CHECKS: list[CheckSpec] = []


def file_check(check_id: str) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as the file check ``check_id`` (its docstring is its description)."""

    def deco(fn: CheckFn) -> CheckFn:
        if any(s.id == check_id for s in FILE_CHECKS):
            raise ValueError(f"check {check_id!r} registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        FILE_CHECKS.append(CheckSpec(check_id, fn, doc[0] if doc else ""))
        return fn

    return deco


def run_file_checks(m: Any, ctx: CheckContext, only: set[str] | None = None) -> tuple[CheckResult, ...]:
    """Run every registered file check (or those in ``only``) on one file's measurements."""
    out = []
    for spec in FILE_CHECKS:
        if only is not None and spec.id not in only:
            continue
        try:
            out.append(spec.fn(m, ctx))
        except Exception as e:  # recorded as the check's own error result; the run goes on
            out.append(error_check(spec.id, e, "the check itself failed"))
    return tuple(out)


#: What the user can do about an exception inside audio-qa.
BUG_HINT = "this is a bug in audio-qa; please report it with the file"


def error_check(check_id: str, e: BaseException, what: str) -> CheckResult:
    """Status ``error`` for an exception raised inside audio-qa: its type, text and the line
    that raised it (file:line in function), so a bug report can name it."""
    tb = traceback.extract_tb(e.__traceback__)
    where = f" ({tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno} in {tb[-1].name})" if tb else ""
    return CheckResult(check_id, "error", f"{what}: {type(e).__name__}: {e}{where}", hint=BUG_HINT)
