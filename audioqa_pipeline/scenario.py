"""Scenarios: audioqa_pipeline/scenarios/NAME.toml (package data) (style, duration_s, optional lyrics = "NAME.lrc")."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib
from dataclasses import dataclass
from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


@dataclass(frozen=True)
class Scenario:
    name: str
    style: str
    duration_s: float
    lrc: str  # LRC text ("" for an instrumental)
    lrc_path: str | None


def list_scenarios(folder: Path = SCENARIO_DIR) -> list[Scenario]:
    return [load_scenario(p.stem, folder) for p in sorted(folder.glob("*.toml"))]


def load_scenario(name: str, folder: Path = SCENARIO_DIR) -> Scenario:
    p = Path(name) if name.endswith(".toml") else folder / f"{name}.toml"
    if not p.is_file():
        known = ", ".join(q.stem for q in sorted(folder.glob("*.toml")))
        raise FileNotFoundError(f"scenario {name!r} not found ({p}); known: {known}")
    d = tomllib.loads(p.read_text(encoding="utf-8"))
    lrc_path = None
    lrc = ""
    if d.get("lyrics"):
        lrc_path = str(p.parent / d["lyrics"])
        lrc = Path(lrc_path).read_text(encoding="utf-8")
    return Scenario(p.stem, d["style"], float(d["duration_s"]), lrc, lrc_path)
