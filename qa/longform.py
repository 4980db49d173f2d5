"""``check`` of a file whose samples exceed the decode budget, in memory bounded by one segment.

Two passes over the file, each reading it in pieces:

1. **Whole file, exact.** The loudness set (integrated, momentary / short-term maxima, LRA,
   true peak: :class:`~qa.metrics.loudness.LoudnessMeter`) and the sample levels (peak, RMS,
   DC, non-finite and clipped samples) of the whole file. The loudness checks read these.
2. **Segments.** Consecutive segments of :data:`SEGMENT_S` seconds, each with the
   :data:`OVERLAP_S` seconds before it as context (a dropout or a click on a boundary lies whole
   inside one segment), are checked as files of their own with the whole file's loudness in
   place of their own. A short remainder joins the last segment.

How the segments' verdicts make the file's (:func:`combine`): a fault anywhere is the file's
fault (the worst segment, its message prefixed with where it is); a property of the whole
programme (silent, a silent channel, coarse quantization, over-compression, noise, a narrow
band) fails only when every segment has it, so a quiet intro, a noisy passage or a bass-only
break of a long programme is not called a broken file; the end of the file is judged on the last
segment only. Silence at a segment's edge is counted once: a stretch shorter than the context
lies whole inside the next segment (a gap there, for ``dropout``), a longer one (a minute of
silence mid-file) is dead air at the end of the segment it starts in. The container checks
(readable, layout, sample rate, duration) read the header.

Metrics: loudness and levels are the whole file's; the rest are reduced over the segments as
:data:`REDUCERS` says, and a note names the reductions (``distinct_values`` is null: a count of
distinct values does not add up across segments).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Iterator

import numpy as np

from qa.audio import Audio, Provenance
from qa.checks import CheckContext
from qa.checks.engine import FILE_CHECKS, run_file_checks
from qa.loading import AudioSource
from qa.measure import Measurements
from qa.metrics.levels import db, level_stats
from qa.metrics.loudness import CHUNK, LoudnessMeter
from qa.results import CheckResult, ItemResult

#: Seconds of one segment (capped so that a segment's samples stay within a quarter of the
#: decode budget: its checks need about four times its samples in working memory).
SEGMENT_S = 120.0
#: Seconds of the shortest segment, whatever the budget (shorter ones would skip the song
#: checks, which need 20 s).
MIN_SEGMENT_S = 30.0
#: Seconds of context before each segment after the first.
OVERLAP_S = 10.0
#: Judged on the file's header, not on segments.
WHOLE_FILE = frozenset({"readable", "layout", "sample_rate", "duration"})
#: Properties of the whole programme: the file fails only when every segment does.
EVERY_SEGMENT = frozenset({"not_silent", "channel_silent", "quantization", "over_compression",
                           "noise_like", "bandwidth"})
#: About the end of the file: the last segment only.
LAST_SEGMENT = frozenset({"truncated_end"})
#: How a segment metric becomes the file's: "max", "median", "first" or "last" segment's.
REDUCERS = {
    "longest_dropout_s": "max", "repetition_fraction": "max", "click_count": "max",
    "click_max_ratio": "max", "tempo_drift_pct": "max", "tempo_jump_pct": "max",
    "lead_silence_s": "first", "trail_silence_s": "last", "end_level_db": "last",
}
_SEVERITY = {"skip": 0, "pass": 1, "warn": 2, "error": 3, "fail": 4}


@dataclass(frozen=True)
class Segment:
    """Frames ``[start, end)`` of the file are this segment's own; ``context`` frames before
    ``start`` come with it."""

    index: int
    start: int
    end: int
    context: int
    first: bool
    last: bool


def plan_segments(frames: int, rate: int, channels: int, budget_bytes: int,
                  bytes_per_sample: int = 4) -> list[Segment]:
    """The segments of a file of ``frames`` frames (see the module docstring)."""
    per_s = rate * channels * bytes_per_sample
    seg = int(max(MIN_SEGMENT_S, min(SEGMENT_S, budget_bytes / 4 / per_s)) * rate)
    ctx = min(int(OVERLAP_S * rate), seg // 4)
    starts = list(range(0, frames, seg))
    if len(starts) > 1 and frames - starts[-1] < seg // 2:
        starts.pop()  # a short remainder joins the last segment
    ends = starts[1:] + [frames]
    return [Segment(i, s, e, min(ctx, s), i == 0, i == len(starts) - 1)
            for i, (s, e) in enumerate(zip(starts, ends))]


class _Whole:
    """The whole-file pass: loudness meter and level sums, fed piece by piece."""

    def __init__(self, src: AudioSource):
        i = src.info
        self.meter = LoudnessMeter(i.sample_rate, i.channels, i.frames)
        self.frames = 0
        self.peak = np.zeros(i.channels)
        self.sq = np.zeros(i.channels)  # sum of squares of finite samples (float64)
        self.sum = np.zeros(i.channels)
        self.finite = np.zeros(i.channels, dtype=np.int64)
        self.nonfinite = 0
        self.clipped = 0

    def feed(self, piece: np.ndarray) -> None:
        self.meter.feed(piece)
        lv = level_stats(piece)
        n = piece.shape[1]
        self.frames += n
        for c, ch in enumerate(lv.channels):
            k = n - ch.nonfinite
            self.peak[c] = max(self.peak[c], ch.peak)
            self.sq[c] += ch.rms * ch.rms * k
            self.sum[c] += ch.dc * k
            self.finite[c] += k
        self.nonfinite += lv.nonfinite_count
        self.clipped += lv.clipped_samples

    def metrics(self) -> dict[str, Any]:
        peak = float(self.peak.max())
        total = int(self.finite.sum())
        rms = math.sqrt(float(self.sq.sum()) / total) if total else 0.0
        dc = self.sum / np.maximum(self.finite, 1)
        crest = 20 * math.log10(peak / rms) if 0 < rms < math.inf and 0 < peak < math.inf else None
        return {"sample_peak_dbfs": db(peak), "rms_dbfs": db(rms), "crest_db": crest,
                "dc_offset": float(dc[np.argmax(np.abs(dc))]) if dc.size else 0.0,
                "clipped_fraction": self.clipped / (self.frames * len(self.peak)),
                "nonfinite_count": int(self.nonfinite), "distinct_values": None}


def _whole_pass(src: AudioSource) -> _Whole:
    whole = _Whole(src)
    for piece in src.pieces(CHUNK):
        whole.feed(piece)
    if whole.frames < src.info.frames:  # an MP3 up to two frames shorter than its estimate
        whole.meter.feed(np.zeros((src.info.channels, src.info.frames - whole.frames)))
    return whole


def _segment_audio(src: AudioSource, plan: list[Segment]) -> Iterator[tuple[Segment, Audio]]:
    """Each segment's samples (its context included) as an :class:`Audio`, read in order with
    one segment and one piece in memory."""
    it = iter(plan)
    seg = next(it)
    parts: list[np.ndarray] = []  # frames from seg.start - seg.context on
    pos = 0  # frames read
    for piece in src.pieces(1 << 18):
        parts.append(piece.copy())
        pos += piece.shape[1]
        while seg is not None and pos >= seg.end:
            buf = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
            del parts
            lo = seg.start - seg.context
            audio = _audio(src, buf[:, : seg.end - lo])
            nxt = next(it, None)
            # keep only what the next segment needs (its context on), then let go of the rest
            parts = [] if nxt is None else [buf[:, nxt.start - nxt.context - lo :].copy()]
            del buf
            yield seg, audio
            del audio
            seg = nxt
            if seg is None:
                return
    if seg is not None and parts:  # an MP3 a little shorter than its estimated length
        yield seg, _audio(src, np.concatenate(parts, axis=1))


def _audio(src: AudioSource, x: np.ndarray) -> Audio:
    x = np.ascontiguousarray(x)
    prov = replace(src.provenance, original_shape=(x.shape[1], x.shape[0]))
    return Audio(x, int(src.info.sample_rate), prov)


class _SegmentMeasurements(Measurements):
    """A segment's measurements, with the whole file's loudness in place of its own, and the
    silence at its edges counted once: leading silence of a segment after the first belongs to
    the segment before it (its context overlaps it), and trailing silence shorter than the next
    segment's context lies whole, between sound, in that segment (there it is a gap the
    ``dropout`` check judges, not dead air)."""

    def __init__(self, audio: Audio, loudness: Any, seg: Segment, next_context_s: float | None):
        super().__init__(audio)
        self._done["loudness"] = loudness
        self._seg, self._next_context_s = seg, next_context_s

    def group(self, name: str) -> Any:
        fresh = name not in self._done
        out = super().group(name)
        if name == "song" and fresh and out.edges.typical_dbfs is not None:
            e = out.edges
            lead = e.lead_s if self._seg.first else 0.0
            nxt = self._next_context_s
            trail = e.trail_s if nxt is None or e.trail_s >= nxt else 0.0
            if (lead, trail) != (e.lead_s, e.trail_s):
                out = self._done["song"] = replace(out, edges=replace(e, lead_s=lead, trail_s=trail))
        return out


@dataclass(frozen=True)
class _FileView:
    """The header-level facts of the file, as the container checks read ``m.audio``."""

    sample_rate: int
    channels: int
    frames: int
    provenance: Provenance

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


class _WholeMeasurements:
    def __init__(self, src: AudioSource):
        i = src.info
        self.audio = _FileView(int(i.sample_rate), int(i.channels), int(i.frames), src.provenance)


def combine(check_id: str, results: list[tuple[Segment, CheckResult]], rate: int) -> CheckResult:
    """The file's result of one check from its segments' results (see the module docstring).
    The message names the segment the result comes from; times inside it count from that
    segment's first frame (its context included), which the prefix gives."""
    judged = [(s, r) for s, r in results if r.status != "skip"] or results
    n = len(results)
    if check_id in LAST_SEGMENT:
        (seg, r), how = results[-1], "the file's last segment"
    elif check_id in EVERY_SEGMENT:
        seg, r = min(judged, key=lambda sr: (_SEVERITY[sr[1].status], sr[0].index))
        how = f"the least affected of {n} segments; a whole-programme fault is in every one"
    else:
        seg, r = max(judged, key=lambda sr: (_SEVERITY[sr[1].status], -sr[0].index))
        how = f"the worst of {n} segments"
    if r.status in ("fail", "warn") and n > 1:
        how += f"; {sum(1 for _, x in judged if x.status == r.status)} {r.status}"
    lo = (seg.start - seg.context) / rate
    where = f"segment {_clock(lo)}-{_clock(seg.end / rate)}"
    if lo > 0:
        where += f", times from its start at {_clock(lo)}"
    return replace(r, message=f"{where} ({how}): {r.message}")


def _reduce(values: list[tuple[Segment, Any]], how: str) -> Any:
    vals = [(s, v) for s, v in values if v is not None]
    if not vals:
        return None
    if how == "first":
        return vals[0][1] if vals[0][0].first else None
    if how == "last":
        return vals[-1][1] if vals[-1][0].last else None
    nums = [v for _, v in vals]
    return max(nums) if how == "max" else float(np.median(nums))


def check_long(src: AudioSource, ctx: CheckContext, *, kind: str = "file") -> ItemResult:
    """Check the file of ``src`` in segments (see the module docstring); memory is bounded by
    one segment whatever the file's length."""
    info = src.info
    rate = int(info.sample_rate)
    whole = _whole_pass(src)
    loud = whole.meter.result()
    plan = plan_segments(info.frames, rate, info.channels, src.options.budget_bytes,
                         8 if src.dtype == "float64" else 4)
    per_check, seg_metrics, seg_notes = _segment_pass(src, plan, loud, ctx)
    checks = []
    for spec in FILE_CHECKS:
        if spec.id in WHOLE_FILE:
            checks.extend(run_file_checks(_WholeMeasurements(src), ctx, only={spec.id}))
        elif spec.id in per_check:
            checks.append(combine(spec.id, per_check[spec.id], rate))
    metrics = {**whole.metrics(), **loud.to_metrics()}
    for k, vals in seg_metrics.items():
        if k not in metrics:
            metrics[k] = _reduce(vals, REDUCERS.get(k, "median"))
    notes = [_plan_note(src, plan),
             "distinct_values: n/a, counts of distinct values do not add up across segments",
             *loud.notes, *(n for n in seg_notes if _about_null(n, metrics))]
    return ItemResult(kind=kind, path=src.path, checks=tuple(checks), metrics=metrics,
                      sample_rate=rate, channels=int(info.channels), frames=int(info.frames),
                      notes=tuple(notes))


def _segment_pass(src: AudioSource, plan: list[Segment], loud: Any, ctx: CheckContext):
    """Every segment's check results and metrics, and their notes (in order, once each)."""
    per_check: dict[str, list[tuple[Segment, CheckResult]]] = {}
    seg_metrics: dict[str, list[tuple[Segment, Any]]] = {}
    seg_notes: dict[str, None] = {}
    rate = src.info.sample_rate
    for seg, audio in _segment_audio(src, plan):
        nxt = None if seg.last else plan[seg.index + 1].context / rate
        m = _SegmentMeasurements(audio, loud, seg, nxt)
        only = {s.id for s in FILE_CHECKS if s.id not in WHOLE_FILE
                and (seg.last or s.id not in LAST_SEGMENT)}
        for r in run_file_checks(m, ctx, only=only):
            per_check.setdefault(r.id, []).append((seg, r))
        m.compute_all()
        for k, v in m.metrics().items():
            seg_metrics.setdefault(k, []).append((seg, v))
        seg_notes.update(dict.fromkeys(m.notes()))
        del m, audio  # before the next segment is read: one segment in memory at a time
    return per_check, seg_metrics, list(seg_notes)


def _about_null(note: str, metrics: dict[str, Any]) -> bool:
    """A segment's note is the file's when it explains a metric that is null for the file
    ("a, b: n/a, why"): one segment's reason is not the file's when another measured it."""
    names = [n.strip() for n in note.split(":", 1)[0].split(",")]
    return any(n in metrics and metrics[n] is None for n in names) and not \
        note.startswith(_LOUDNESS_NOTES)


def _plan_note(src: AudioSource, plan: list[Segment]) -> str:
    rate = src.info.sample_rate
    n = len(plan)
    return (f"checked in {n} segment{'s' if n > 1 else ''} of up to "
            f"{(plan[0].end - plan[0].start) / rate:.0f} s (each after the first with "
            f"{plan[-1].context / rate:g} s of context): the samples "
            f"({src.decoded_bytes / 2**20:.0f} MiB) exceed the decode budget of "
            f"{src.options.budget_bytes / 2**20:g} MiB; loudness, true peak and levels are of the "
            "whole file; the other metrics are the segments' median, except "
            + ", ".join(f"{k} ({v})" for k, v in REDUCERS.items()))


_LOUDNESS_NOTES = ("loudness:", "integrated_lufs", "momentary_max_lufs", "short_term_max_lufs",
                   "lra_lu", "true_peak_dbtp", "plr_db")


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
