"""``check`` of a file whose samples exceed the decode budget, in memory bounded by one segment.

Two passes over the file, each reading it in pieces:

1. **Whole file, exact.** The loudness set (integrated, momentary / short-term maxima, LRA,
   true peak: :class:`~qa.metrics.loudness.LoudnessMeter`), the sample levels (peak, RMS, DC,
   non-finite samples) and the 10 ms RMS envelope of the whole file, from which its edges
   (leading / trailing silence, the level of its end) and its dropouts are found exactly as for
   a file read whole. The checks ``loudness_target``, ``true_peak``, ``dropout``, ``dead_air``
   and ``truncated_end`` read these (:data:`FROM_WHOLE`): a minute of silence mid-file is the
   dropout it would be in a short file, wherever the segment boundaries fall.
2. **Segments.** Equal segments of at most :data:`SEGMENT_S` seconds, each with the
   :data:`OVERLAP_S` seconds before it as context (a click or a seam on a boundary lies whole
   inside one segment), are checked as files of their own, with the whole file's loudness,
   edges and dropouts in place of their own and clipped runs counted at the file's rail.

How the segments' verdicts make the file's (:func:`combine`): a fault anywhere is the file's
fault (the worst segment, its message prefixed with where it is); a property of the whole
programme (silent, a silent channel, coarse quantization, over-compression, noise, a narrow
band: :data:`EVERY_SEGMENT`) fails only when every segment has it, so a quiet intro, a noisy
passage or a bass-only break of a long programme is not called a broken file (an error in any
segment is never hidden). The container checks (readable, layout, sample rate, duration) read
the header.

Metrics: loudness, levels, edges and dropouts are the whole file's (``clipped_fraction`` counts
each segment's own frames once); the rest are reduced over the segments as :data:`REDUCERS`
says, and a note names the reductions (``distinct_values`` is null: a count of distinct values
does not add up across segments).
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
from qa.metrics import temporal, transients
from qa.metrics.levels import clipped_samples, db, level_stats
from qa.metrics.loudness import CHUNK, LoudnessMeter
from qa.results import CheckResult, ItemResult

#: Seconds of one segment at most (capped so that a segment and its context stay within a
#: quarter of the decode budget: its checks need about four times its samples in memory).
SEGMENT_S = 120.0
#: Seconds of the shortest segment, whatever the budget (shorter ones would skip the song
#: checks, which need 20 s).
MIN_SEGMENT_S = 30.0
#: Seconds of context before each segment after the first.
OVERLAP_S = 10.0
#: Judged on the file's header, not on segments.
WHOLE_FILE = frozenset({"readable", "layout", "sample_rate", "duration"})
#: Judged once on the whole file's loudness, edges and dropouts (the results name file times).
FROM_WHOLE = frozenset({"loudness_target", "true_peak", "dropout", "dead_air", "truncated_end"})
#: Properties of the whole programme: the file fails only when every segment does.
EVERY_SEGMENT = frozenset({"not_silent", "channel_silent", "quantization", "over_compression",
                           "noise_like", "bandwidth"})
#: How a segment metric becomes the file's: "max" or "median" over the segments.
REDUCERS = {
    "repetition_fraction": "max", "click_count": "max", "click_max_ratio": "max",
    "tempo_drift_pct": "max", "tempo_jump_pct": "max",
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
    """Equal segments covering the ``frames`` of a file once (see the module docstring)."""
    per_s = rate * channels * bytes_per_sample
    longest = int(max(MIN_SEGMENT_S, min(SEGMENT_S, budget_bytes / 4 / per_s - OVERLAP_S)) * rate)
    n = max(1, -(-frames // longest))
    bounds = [frames * i // n for i in range(n + 1)]
    ctx = min(int(OVERLAP_S * rate), longest // 4)
    return [Segment(i, bounds[i], bounds[i + 1], min(ctx, bounds[i]), i == 0, i == n - 1)
            for i in range(n)]


class _Whole:
    """The whole-file pass: loudness meter, level sums and the 10 ms envelope, fed in order."""

    def __init__(self, src: AudioSource):
        i = src.info
        self.rate = int(i.sample_rate)
        self.meter = LoudnessMeter(i.sample_rate, i.channels, i.frames)
        self.frames = 0
        self.peak = np.zeros(i.channels)
        self.sq = np.zeros(i.channels)  # sum of squares of finite samples (float64)
        self.sum = np.zeros(i.channels)
        self.finite = np.zeros(i.channels, dtype=np.int64)
        self.nonfinite = 0
        self.hop = temporal.frame_hop(self.rate, 0.01)
        self.power: list[np.ndarray] = []  # 10 ms frame powers, as temporal.envelope gives
        self.rest = np.zeros((i.channels, 0), dtype=np.float32)  # a partial frame, carried

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
        x = piece if not lv.nonfinite_count else np.nan_to_num(piece, nan=0.0, posinf=0.0, neginf=0.0)
        x = np.concatenate([self.rest.astype(x.dtype), x], axis=1) if self.rest.shape[1] else x
        whole = x.shape[1] // self.hop * self.hop
        self.power.append(temporal.frame_power(x[:, :whole], self.hop))
        self.rest = x[:, whole:].copy()

    def finish(self, frames: int) -> "WholeFile":
        if self.frames < frames:  # an MP3 up to two frames shorter than its estimate
            self.meter.feed(np.zeros((len(self.peak), frames - self.frames)))
        env = temporal.RmsEnvelope(np.concatenate(self.power), self.rate, self.hop)
        return WholeFile(self.meter.result(), float(self.peak.max()) if self.peak.size else 0.0,
                         self._levels(), transients.edges(env.db(), 0.01),
                         temporal.low_energy_runs(None, self.rate, env=env), self.frames / self.rate)

    def _levels(self) -> dict[str, Any]:
        peak = float(self.peak.max()) if self.peak.size else 0.0
        total = int(self.finite.sum())
        rms = math.sqrt(float(self.sq.sum()) / total) if total else 0.0
        dc = self.sum / np.maximum(self.finite, 1)
        crest = 20 * math.log10(peak / rms) if 0 < rms < math.inf and 0 < peak < math.inf else None
        return {"sample_peak_dbfs": db(peak), "rms_dbfs": db(rms), "crest_db": crest,
                "dc_offset": float(dc[np.argmax(np.abs(dc))]) if dc.size else 0.0,
                "nonfinite_count": int(self.nonfinite), "distinct_values": None}


@dataclass(frozen=True)
class WholeFile:
    """What the whole-file pass measured (see the module docstring)."""

    loudness: Any
    peak: float
    levels: dict[str, Any]
    edges: transients.Edges
    dropouts: temporal.Dropouts
    duration_s: float

    def metrics(self) -> dict[str, Any]:
        e, d = self.edges, self.dropouts
        return {**self.levels, **self.loudness.to_metrics(),
                "longest_dropout_s": d.longest_s if d.typical_dbfs is not None else None,
                "end_level_db": e.end_db, "lead_silence_s": e.lead_s, "trail_silence_s": e.trail_s}


def _whole_pass(src: AudioSource) -> WholeFile:
    whole = _Whole(src)
    for piece in src.pieces(CHUNK):
        whole.feed(piece)
    return whole.finish(src.info.frames)


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
    """A segment's measurements, with the whole file's loudness, edges, dropouts and duration in
    place of its own, and its clipped runs counted at the file's rail."""

    def __init__(self, audio: Audio, whole: WholeFile):
        super().__init__(audio)
        self._whole = whole
        self._done["loudness"] = whole.loudness

    def group(self, name: str) -> Any:
        if name in self._done:
            return self._done[name]
        w = self._whole
        if name == "levels":
            out = level_stats(self.audio.samples, rail=w.peak)
        elif name == "song":
            out = replace(super().group(name), edges=w.edges, duration_s=w.duration_s)
        elif name == "content":
            out = replace(super().group(name), dropouts=w.dropouts)
        else:
            return super().group(name)
        self._done[name] = out
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
    errors = [(s, r) for s, r in judged if r.status == "error"]
    if check_id in EVERY_SEGMENT and not errors:
        seg, r = min(judged, key=lambda sr: (_SEVERITY[sr[1].status], sr[0].index))
        how = f"the least affected of {n} segments; a whole-programme fault is in every one"
    else:
        seg, r = max(judged, key=lambda sr: (_SEVERITY[sr[1].status], -sr[0].index))
        how = f"the worst of {n} segments"
    if r.status in ("fail", "warn", "error") and n > 1:
        how += f"; {sum(1 for _, x in judged if x.status == r.status)} {r.status}"
    lo = (seg.start - seg.context) / rate
    where = f"segment {_clock(lo)}-{_clock(seg.end / rate)}"
    if lo > 0:
        where += f", times from its start at {_clock(lo)}"
    return replace(r, message=f"{where} ({how}): {r.message}")


def _reduce(values: list[Any], how: str) -> Any:
    nums = [v for v in values if v is not None]
    if not nums:
        return None
    return max(nums) if how == "max" else float(np.median(nums))


def check_long(src: AudioSource, ctx: CheckContext, *, kind: str = "file") -> ItemResult:
    """Check the file of ``src`` in segments (see the module docstring); memory is bounded by
    one segment whatever the file's length."""
    info = src.info
    rate = int(info.sample_rate)
    whole = _whole_pass(src)
    plan = plan_segments(info.frames, rate, info.channels, src.options.budget_bytes,
                         8 if src.dtype == "float64" else 4)
    per_check, seg_metrics, seg_notes, clipped = _segment_pass(src, plan, whole, ctx)
    checks = []
    for spec in FILE_CHECKS:
        if spec.id in WHOLE_FILE:
            checks.extend(run_file_checks(_WholeMeasurements(src), ctx, only={spec.id}))
        elif spec.id in FROM_WHOLE and spec.id in per_check:
            checks.append(per_check[spec.id][-1][1])  # whole-file figures, file times
        elif spec.id in per_check:
            checks.append(combine(spec.id, per_check[spec.id], rate))
    metrics = {**whole.metrics(), "clipped_fraction": clipped / max(1, info.frames * info.channels)}
    for k, vals in seg_metrics.items():
        if k not in metrics:
            metrics[k] = _reduce(vals, REDUCERS.get(k, "median"))
    notes = [_plan_note(src, plan),
             "distinct_values: n/a, counts of distinct values do not add up across segments",
             *whole.loudness.notes, *(n for n in seg_notes if _about_null(n, metrics))]
    return ItemResult(kind=kind, path=src.path, checks=tuple(checks), metrics=metrics,
                      sample_rate=rate, channels=int(info.channels), frames=int(info.frames),
                      notes=tuple(notes))


def _segment_pass(src: AudioSource, plan: list[Segment], whole: WholeFile, ctx: CheckContext):
    """Every segment's check results and metrics, their notes (in order, once each) and the
    clipped samples of the segments' own frames."""
    per_check: dict[str, list[tuple[Segment, CheckResult]]] = {}
    seg_metrics: dict[str, list[Any]] = {}
    seg_notes: dict[str, None] = {}
    clipped = 0
    for seg, audio in _segment_audio(src, plan):
        m = _SegmentMeasurements(audio, whole)
        only = {s.id for s in FILE_CHECKS if s.id not in WHOLE_FILE
                and (seg.last or s.id not in FROM_WHOLE)}
        for r in run_file_checks(m, ctx, only=only):
            per_check.setdefault(r.id, []).append((seg, r))
        for k, v in m.metrics().items():
            seg_metrics.setdefault(k, []).append(v)
        seg_notes.update(dict.fromkeys(m.notes()))
        clipped += clipped_samples(audio.samples[:, seg.context :], whole.peak)
        del m, audio  # before the next segment is read: one segment in memory at a time
    return per_check, seg_metrics, list(seg_notes), clipped


def _about_null(note: str, metrics: dict[str, Any]) -> bool:
    """A segment's note is the file's when it explains a metric that is null for the file
    ("a, b: n/a, why"): one segment's reason is not the file's when another measured it."""
    names = [n.strip() for n in note.split(":", 1)[0].split(",")]
    return any(n in metrics and metrics[n] is None for n in names) and not \
        note.startswith(_LOUDNESS_NOTES)


def _plan_note(src: AudioSource, plan: list[Segment]) -> str:
    rate = src.info.sample_rate
    n = len(plan)
    longest = max(s.end - s.start for s in plan)
    return (f"checked in {n} segment{'s' if n > 1 else ''} of up to {longest / rate:.0f} s "
            f"(each after the first with {plan[-1].context / rate:g} s of context): the samples "
            f"({src.decoded_bytes / 2**20:.0f} MiB) exceed the decode budget of "
            f"{src.options.budget_bytes / 2**20:g} MiB; loudness, true peak, levels, edges and "
            "dropouts are of the whole file; the other metrics are the segments' median, except "
            + ", ".join(f"{k} ({v})" for k, v in REDUCERS.items()))


_LOUDNESS_NOTES = ("loudness:", "integrated_lufs", "momentary_max_lufs", "short_term_max_lufs",
                   "lra_lu", "true_peak_dbtp", "plr_db")


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
