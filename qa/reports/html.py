"""The HTML report: one self-contained file (no scripts, no network) rendered with Jinja2.

:func:`render_html` takes the results dict of CONTRACTS.md and returns the page. Sections render
what is present and are left out when absent: summary, gate deltas, pipeline runs (stage chart
and table), files, comparisons, round trips (table and quality-versus-bitrate charts) and the
doctor's backend matrix. Audio figures are drawn from the files the item paths name when those
files can be found (relative paths are looked up in ``search_dirs``); a card says why when not.
"""

from __future__ import annotations

import base64
import json
import math
import os
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

import jinja2

from qa.loading import AudioReadError, load_audio
from qa.reports.audio_figures import Figures, audio_figures
from qa.reports.sections import backend_matrix, gate_table, probe_view, roundtrip_groups, stage_rows
from qa.reports.svg import stage_levels_svg

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Audio files up to this size are embedded in the page; larger ones are linked relatively.
EMBED_AUDIO_BYTES = 1 << 20
#: At most this many bytes of audio are embedded in one report, so it stays a sane artifact.
EMBED_AUDIO_TOTAL = 4 << 20
#: Item kinds whose path names an audio file worth drawing (round trips share their source).
AUDIO_KINDS = ("file", "comparison", "run")
SECTION_ORDER = (("run", "Pipeline runs"), ("file", "Files"), ("comparison", "Comparisons"),
                 ("roundtrip", "Round trips"), ("probe", "Service probes"), ("backend", "Backends"))
_SEVERITY = {"error": 0, "fail": 1, "warn": 2, "pass": 3, "skip": 4}
_KNOWN_ITEM_KEYS = {"kind", "path", "status", "sample_rate", "channels", "frames", "metrics",
                    "checks", "stages", "notes", "first_bad_stage", "injected_fault", "codec",
                    "phases", "error_class", "adapter", "counts", "runs"}
_CHECK_KEYS = ("id", "status", "value", "threshold", "unit", "message", "hint")
_MIME = {".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
         ".opus": "audio/ogg", ".m4a": "audio/mp4", ".aac": "audio/aac"}


def render_html(results: dict[str, Any], *, out_dir: str | os.PathLike | None = None,
                search_dirs: Iterable[str | os.PathLike] = (".",),
                embed_audio_bytes: int = EMBED_AUDIO_BYTES, figures: bool = True) -> str:
    """The report page for ``results`` (an ``audio-qa.report/1`` dict).

    ``out_dir`` is where the page will live (audio links are made relative to it);
    ``figures=False`` skips reading audio (tables only)."""
    out = Path(out_dir or ".").resolve()
    budget = [EMBED_AUDIO_TOTAL]
    items = [_item_view(i, it, out, [Path(d) for d in search_dirs], embed_audio_bytes, budget, figures)
             for i, it in enumerate(_list(results.get("items")))]
    by_kind: dict[str, list[dict]] = {}
    for v in items:
        by_kind.setdefault(v["kind"], []).append(v)
    known = [k for k, _ in SECTION_ORDER]
    sections = [{"kind": k, "title": t, "entries": by_kind[k]} for k, t in SECTION_ORDER if k in by_kind]
    other = [v for k, vs in by_kind.items() if k not in known for v in vs]
    if other:
        sections.append({"kind": "other", "title": "Other items", "entries": other})
    tool = results.get("tool") if isinstance(results.get("tool"), dict) else {}
    ctx = {
        "status": str(results.get("status", "unknown")),
        "schema": results.get("schema"),
        "tool": tool,
        "environment": _kv(results.get("environment")),
        "counts": Counter(v["status"] for v in items),
        "kinds": Counter(v["kind"] for v in items),
        "items": items,
        "sections": sections,
        "gate": gate_table(results.get("gate")) if "gate" in results else None,
        "roundtrips": roundtrip_groups(by_kind.get("roundtrip", [])),
        "backends": backend_matrix(by_kind.get("backend", [])),
        "extra": _kv({k: v for k, v in results.items()
                      if k not in ("schema", "tool", "status", "environment", "items", "gate")}),
    }
    return _env().get_template("report.html.j2").render(**ctx)


def write_html(results: dict[str, Any], path: str | os.PathLike, **kw: Any) -> None:
    """Render and write atomically next to ``path`` (audio links relative to its folder)."""
    from qa.atomic import write_atomic

    write_atomic(path, render_html(results, out_dir=Path(path).resolve().parent, **kw))


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_num
    return env


def _check_view(c: dict) -> dict[str, Any]:
    """A check row with its value and threshold as shown: digits enough that the shown value
    compares to the shown threshold the way the exact ones do."""
    from qa.display import value_and_threshold

    view = {k: c.get(k) for k in _CHECK_KEYS}
    v, t = view["value"], view["threshold"]
    view["value_text"], view["threshold_text"] = (
        value_and_threshold(v, t) if _is_num(v) and _is_num(t) else (fmt_num(v), fmt_num(t)))
    return view


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def fmt_num(v: Any) -> str:
    """Numbers for people: 4 significant digits, integers whole, None as "n/a"."""
    if v is None:
        return "n/a"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    return f"{v:.1f}" if abs(v) >= 1000 else f"{v:.4g}"


def _item_view(index: int, it: Any, out: Path, search: list[Path], embed_limit: int,
               budget: list[int], figures: bool) -> dict[str, Any]:
    it = it if isinstance(it, dict) else {"path": repr(it), "kind": "invalid"}
    checks = [_check_view(c) for c in _list(it.get("checks")) if isinstance(c, dict)]
    checks.sort(key=lambda c: _SEVERITY.get(str(c.get("status")), 5))
    metrics = it.get("metrics") if isinstance(it.get("metrics"), dict) else {}
    notes = [str(n) for n in _list(it.get("notes"))]
    sr, frames = it.get("sample_rate"), it.get("frames")
    duration = frames / sr if isinstance(sr, int) and isinstance(frames, int) and sr > 0 else None
    view = {
        "index": index, "anchor": f"item-{index}", "kind": str(it.get("kind", "unknown")),
        "path": str(it.get("path", "")), "status": str(it.get("status", "unknown")),
        "sample_rate": sr, "channels": it.get("channels"), "frames": frames, "duration": duration,
        "checks": checks, "metrics": [(str(k), v, _note_for(str(k), v, notes)) for k, v in metrics.items()],
        "raw_metrics": metrics, "notes": notes, "codec": it.get("codec"),
        "stages": stage_rows(it.get("stages"), it.get("first_bad_stage")) if "stages" in it else None,
        "stage_chart": None, "first_bad_stage": it.get("first_bad_stage"),
        "injected_fault": _kv(it.get("injected_fault")) if it.get("injected_fault") else None,
        "details": _kv({k: v for k, v in it.items() if k not in _KNOWN_ITEM_KEYS}),
        "figures": Figures(), "audio_src": None,
        "probe": probe_view(it) if "phases" in it else None,
    }
    stages = [s for s in _list(it.get("stages")) if isinstance(s, dict)]
    if stages:
        view["stage_chart"] = stage_levels_svg(stages, it.get("first_bad_stage"))
    if figures and view["kind"] in AUDIO_KINDS and view["path"]:
        _attach_audio(view, checks, out, search, embed_limit, budget)
    return view


def _attach_audio(view: dict, checks: list[dict], out: Path, search: list[Path], embed_limit: int,
                  budget: list[int]) -> None:
    if any(c.get("id") == "readable" and c.get("status") in ("fail", "error") for c in checks):
        return  # the readable check already says what is wrong with the file
    found = resolve_audio(view["path"], search)
    figs = view["figures"]
    if found is None:
        where = ", ".join(str(d) for d in search)
        figs.notes.append(f"audio figures: not drawn, {view['path']} was not found (looked in {where})")
        return
    try:
        audio = load_audio(found)
    except AudioReadError as e:
        figs.notes.append(f"audio figures: not drawn, {e.detail}")
        return
    flagged = frozenset(str(c.get("id")) for c in checks if c.get("status") in ("warn", "fail"))
    view["figures"] = audio_figures(audio, target_lufs=_target_lufs(checks), metrics=view["raw_metrics"],
                                    flagged=flagged)
    size = found.stat().st_size
    if size <= embed_limit and size <= budget[0]:
        budget[0] -= size
        mime = _MIME.get(found.suffix.lower(), "application/octet-stream")
        view["audio_src"] = f"data:{mime};base64," + base64.b64encode(found.read_bytes()).decode("ascii")
    else:
        rel = os.path.relpath(found, out)
        view["audio_src"] = urllib.parse.quote(Path(rel).as_posix())


def resolve_audio(path: str, search: list[Path]) -> Path | None:
    """The file ``path`` names: as is when absolute, else the first match under ``search``."""
    p = Path(path)
    candidates = [p] if p.is_absolute() else [d / p for d in search]
    return next((c.resolve() for c in candidates if c.is_file()), None)


def _target_lufs(checks: list[dict]) -> float | None:
    """The loudness limit line: the ``loudness_target`` check's threshold (the bound of the band
    that decided its verdict) when it is in LUFS."""
    c = next((c for c in checks if c.get("id") == "loudness_target"), None)
    t = c.get("threshold") if c else None
    if c and str(c.get("unit", "")).upper() in ("LUFS", "LKFS") and isinstance(t, (int, float)):
        return float(t)
    return None


def _note_for(name: str, value: Any, notes: list[str]) -> str | None:
    if value is not None:
        return None
    return next((n for n in notes if n.startswith(name + ":") or n.startswith(name + " ")), None)


def _kv(d: Any) -> list[tuple[str, str]]:
    """A dict as (key, text) rows; nested values shown as compact JSON text."""
    if not isinstance(d, dict):
        return [] if d is None else [("value", _text(d))]
    return [(str(k), _text(v)) for k, v in d.items()]


def _text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return fmt_num(v)
    return json.dumps(v, ensure_ascii=False, default=str)


def _list(v: Any) -> list:
    return v if isinstance(v, list) else []
