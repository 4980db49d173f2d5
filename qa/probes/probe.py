"""The probe API: one :class:`Probe` per run, used three ways.

* context manager: ``with probe.stage("vae_decode", kind="audio") as s: out = f(x); s.record(out)``
* decorator: ``@probe.wrap("normalize", layout="channels_first")`` records the return value
* torch module hooks: ``probe.hook(decoder, "vae_decode", ...)`` records ``forward``'s output

Each stage yields one :class:`~qa.probes.record.StageRecord` (statistics, time, memory, stage
checks, a stall dump when it ran past its budget). ``Probe(enabled=False)`` keeps the same
code path but records nothing, which is how the overhead is benchmarked.
"""

from __future__ import annotations

import functools
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from qa.probes.checks import first_bad_stage, run_stage_checks
from qa.probes.record import StageRecord, StageSpec
from qa.probes.stats import stage_stats
from qa.probes.watchdog import StallWatchdog
from qa.profiles import Profile, load_profile
from qa.results import ItemResult, CheckResult

#: Default stall budget per stage, seconds: far above any stage of the reference pipeline
#: (the slowest, the 95 s decode, takes about 5 s on 2 cores).
DEFAULT_BUDGET_S = 120.0


class StageHandle:
    """What ``with probe.stage(...) as s`` gives: ``s.record(output)`` once per stage."""

    def __init__(self, probe: "Probe", record: StageRecord | None):
        self._probe = probe
        self.record_ = record

    def record(self, output: Any, *, sample_rate: int | None = None, seams=()) -> Any:
        """Measure ``output`` (tensor or array) as this stage's result and return it unchanged."""
        r = self.record_
        if r is None:
            return output
        r.sample_rate = sample_rate if sample_rate is not None else r.spec.sample_rate
        r.seams = tuple(int(s) for s in seams)
        t0 = time.perf_counter()
        r.stats = stage_stats(output, kind=r.spec.kind, layout=r.spec.layout,
                              sample_rate=r.sample_rate, seams=r.seams)
        self._probe.overhead_s += time.perf_counter() - t0
        return output

    def note(self, text: str) -> None:
        if self.record_ is not None:
            self.record_.notes.append(text)

    def stalled(self, dump: dict[str, Any]) -> None:
        """A stall the stage's owner observed itself (e.g. a writer's child process cut at its
        timeout), in the watchdog's shape: ``stage``, ``budget_s``, ``elapsed_s``, ``threads``."""
        if self.record_ is not None:
            self.record_.stall = dump

    def add_check(self, check: CheckResult) -> None:
        """A verdict only the stage's owner can give (e.g. ``save_timeout``)."""
        if self.record_ is not None:
            self.record_.checks.append(check)


class Probe:
    """Collects stage records for one run, judged with ``profile``'s thresholds."""

    def __init__(self, *, enabled: bool = True, profile: Profile | None = None,
                 budget_s: float = DEFAULT_BUDGET_S, stall_to_stderr: bool = True):
        self.enabled = enabled
        self.profile = profile or load_profile()
        self.budget_s = budget_s
        self.stall_to_stderr = stall_to_stderr
        self.records: list[StageRecord] = []
        #: Seconds spent measuring and judging stages (statistics, watchdog, stage checks): the
        #: probes' own cost inside the run, which the pipeline benchmark reports.
        self.overhead_s = 0.0

    # -- the three ways in -------------------------------------------------------------------
    @contextmanager
    def stage(self, name: str, spec: StageSpec | None = None, **spec_kw: Any) -> Iterator[StageHandle]:
        """Probe the stage run inside the ``with`` block."""
        if not self.enabled:
            yield StageHandle(self, None)
            return
        t_setup = time.perf_counter()
        spec = spec or StageSpec(**spec_kw)
        rec = StageRecord(name=name, index=len(self.records), spec=spec)
        self.records.append(rec)
        handle = StageHandle(self, rec)
        wd = StallWatchdog(name, spec.budget_s or self.budget_s, to_stderr=self.stall_to_stderr)
        wd.__enter__()
        t0 = time.perf_counter()
        self.overhead_s += t0 - t_setup
        try:
            yield handle
        except BaseException as e:
            rec.error = f"raised {type(e).__name__}: {e}"
            raise
        finally:
            t_end = time.perf_counter()
            rec.seconds = t_end - t0
            wd.__exit__(None, None, None)
            if rec.stall is None:
                rec.stall = wd.dump
            elif wd.dump is not None:  # the owner's stall first; the parent's stacks kept beside it
                rec.stall["watchdog"] = wd.dump
            rec.checks = run_stage_checks(rec, self.profile) + rec.checks
            self.overhead_s += time.perf_counter() - t_end

    def wrap(self, name: str, spec: StageSpec | None = None, **spec_kw: Any) -> Callable:
        """Decorator: probe a stage function and record its return value."""

        def deco(fn: Callable) -> Callable:
            @functools.wraps(fn)
            def inner(*a: Any, **kw: Any) -> Any:
                with self.stage(name, spec, **spec_kw) as s:
                    return s.record(fn(*a, **kw))
            return inner

        return deco

    def hook(self, module: Any, name: str, spec: StageSpec | None = None, **spec_kw: Any):
        """Probe every call of a ``torch.nn.Module``: time from the forward pre-hook, record
        the output in the forward hook. Returns the two hook handles (``.remove()`` them)."""
        spec = spec or StageSpec(**spec_kw)
        state: dict[str, Any] = {}

        def pre(mod, args):
            if self.enabled:
                cm = self.stage(name, spec)
                state["cm"], state["handle"] = cm, cm.__enter__()

        def post(mod, args, output):
            if self.enabled and "cm" in state:
                state.pop("handle").record(output)
                state.pop("cm").__exit__(None, None, None)

        return module.register_forward_pre_hook(pre), module.register_forward_hook(post)

    # -- results -----------------------------------------------------------------------------
    def first_bad(self) -> tuple[str | None, CheckResult]:
        return first_bad_stage(self.records)

    def to_list(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.records]

    def to_item(self, path: str = "probe") -> ItemResult:
        """The records as a kind "run" item: the ``first_bad_stage`` check over the stages."""
        bad, check = self.first_bad()
        return ItemResult("run", path, (check,), extra={"stages": self.to_list(), "first_bad_stage": bad})
