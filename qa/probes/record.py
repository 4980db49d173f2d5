"""What a stage declares about its output (:class:`StageSpec`) and what the probe recorded
(:class:`StageRecord`, serialized exactly as CONTRACTS.md "Stage records")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qa.probes.stats import StageStats
from qa.results import CheckResult, worst_status

KINDS = ("audio", "pcm", "latent", "control")
LAYOUTS = ("channels_first", "channels_last", "batch_frames_channels", "frames", "vector")


@dataclass(frozen=True)
class StageSpec:
    """Expectations of one stage's output.

    ``kind``: "audio" (float samples), "pcm" (integer samples), "latent" or "control" (tokens,
    embeddings: no level checks). ``shape``: expected shape, ``None`` entries match any size;
    ``rank``: expected number of dimensions when the sizes are not known. ``layout`` names the
    axes (channels_first = (..., channels, frames)). ``max_peak_dbfs``: the ceiling this stage
    must respect (a stage feeding a fixed-point writer). ``feeds_int``: the stage's output goes
    to an integer conversion, so floats outside [-1, 1] will wrap or clip. ``sample_rate``: the
    rate the stage must label its output with. ``silent_ok``: all-zero output is legitimate
    (e.g. lyric tokens of an instrumental). ``budget_s``: stall watchdog budget (None = the
    probe's default). ``frame_rate``: frames per second of a latent stage's frame axis, so that
    its loops are reported in seconds as well as frames."""

    kind: str = "audio"
    shape: tuple[int | None, ...] | None = None
    rank: int | None = None
    layout: str | None = None
    max_peak_dbfs: float | None = None
    feeds_int: bool = False
    sample_rate: int | None = None
    silent_ok: bool = False
    budget_s: float | None = None
    frame_rate: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"stage kind must be one of {KINDS}, got {self.kind!r}")
        if self.layout is not None and self.layout not in LAYOUTS:
            raise ValueError(f"stage layout must be one of {LAYOUTS}, got {self.layout!r}")

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind}
        if self.shape is not None:
            d["shape"] = [s for s in self.shape]
        if self.rank is not None:
            d["rank"] = self.rank
        for k in ("max_peak_dbfs", "sample_rate", "frame_rate"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        return d


@dataclass
class StageRecord:
    """One probed stage. ``stats`` is None when the stage raised or recorded nothing;
    ``stall`` holds the watchdog's stack dump when the stage ran past its budget."""

    name: str
    index: int
    spec: StageSpec
    stats: StageStats | None = None
    seconds: float = 0.0
    sample_rate: int | None = None
    seams: tuple[int, ...] = ()
    checks: list[CheckResult] = field(default_factory=list)
    stall: dict[str, Any] | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        worst = worst_status(c.status for c in self.checks)
        return "pass" if worst == "skip" else worst

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "warn")

    def to_dict(self) -> dict[str, Any]:
        s = self.stats
        d: dict[str, Any] = {
            "name": self.name,
            "index": self.index,
            "shape": list(s.shape) if s else None,
            "dtype": s.dtype if s else None,
            "device": s.device if s else None,
            "layout": self.spec.layout,
            "peak": s.peak if s else None,
            "rms": s.rms if s else None,
            "dc": s.dc if s else None,
            "nonfinite": s.nonfinite if s else None,
            "seconds": round(self.seconds, 6),
            "memory_bytes": s.memory_bytes if s else None,
            "status": self.status,
            "checks": [c.to_dict() for c in self.checks],
            "kind": self.spec.kind,
            "expect": self.spec.describe(),
        }
        if self.sample_rate is not None:
            d["sample_rate"] = self.sample_rate
        if s is not None:
            if s.full_scale:
                d["full_scale"] = s.full_scale
            if s.channel_rms:
                d["channel_rms"] = list(s.channel_rms)
                d["crest_db"] = s.crest_db
                d["lr_correlation"] = s.lr_correlation
                d["max_step"] = s.max_step
                d["longest_zero_run_s"] = s.longest_zero_run_s
                d["lead_zero_s"], d["trail_zero_s"] = s.lead_zero_s, s.trail_zero_s
                if s.gaps is not None:
                    d["gaps"] = {"count": s.gaps.count, "longest_samples": s.gaps.longest,
                                 "listed": [list(g) for g in s.gaps.listed]}
            if s.loop is not None:
                d["loop"] = {"lag_frames": s.loop.lag, "start_frame": s.loop.start,
                             "end_frame": s.loop.end, "fraction": s.loop.fraction}
            if self.seams:
                d["seams"] = list(self.seams)
                d["seam_ratio"] = s.seam_ratio
        if self.stall is not None:
            d["stall"] = self.stall
        if self.error is not None:
            d["error"] = self.error
        notes = list(self.notes) + (list(s.notes) if s else [])
        if notes:
            d["notes"] = notes
        return d
