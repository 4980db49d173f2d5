"""Probing each backend in its own child: import it, time real saves, verify them here.

A child that hangs is killed after ``timeout`` seconds per step; its format is recorded as hung
with the stack and the slow/stalled verdict, and a fresh child carries on with the formats left.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from qa.doctor.probe import TEST_RATE, song_timeout, test_signal
from qa.io.backends import get_backend
from qa.io.child import Child, ChildDied, ChildHung, Hang
from qa.io.formats import FORMATS
from qa.io.verify import verify_file


#: Seconds an import may take before it counts as hung: torch + TorchCodec measured 3 s idle and
#: 14 s on this 2-core machine under load from other jobs; 30 s still catches a real hang.
IMPORT_TIMEOUT_S = 30.0


@dataclass
class Cell:
    """One backend x format result. ``outcome``: ok, wrong_subtype, failed, hung, not_tried (an
    earlier save of the backend hung, so the doctor stopped probing it: its time is bounded)."""

    format: str
    outcome: str
    message: str
    cold_s: float | None = None
    warm_s: float | None = None
    song_s: float | None = None
    subtype: str | None = None
    hang: Hang | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "hang"}
        d["hang"] = None if self.hang is None else {**self.hang.__dict__, "kind": self.hang.kind}
        return d


@dataclass
class BackendProbe:
    name: str
    available: bool | None = None  # None: the import itself hung or crashed
    import_s: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    import_hang: Hang | None = None
    cells: list[Cell] = field(default_factory=list)
    int16_trap: bool | None = None  # None: not tested


def formats_for(name: str, wanted: list[str]) -> list[str]:
    b = get_backend(name)
    return [f for f in wanted if b.write is not None and FORMATS[f].container in b.formats]


def probe_backend(name: str, formats: list[str], folder: str, timeout: float,
                  duration: float | None = None, env: dict[str, str] | None = None,
                import_timeout: float | None = None) -> BackendProbe:
    """Probe ``name``: ``timeout`` s per save; the import gets ``import_timeout`` (default the
    larger of ``timeout`` and IMPORT_TIMEOUT_S, since importing torch on a busy machine is slow)."""
    import_timeout = import_timeout or max(timeout, IMPORT_TIMEOUT_S)
    out = BackendProbe(name)
    left = formats_for(name, formats)
    want_int16 = name == "torchaudio"
    while True:
        spec = {"backend": name, "formats": left, "dir": folder, "timeout": timeout,
                "duration": duration, "int16_trap": want_int16, "import_timeout": import_timeout}
        step, path = "import", None
        with Child(["-m", "qa.doctor.probe", json.dumps(spec)], env=env) as child:
            try:
                while True:
                    limit = (import_timeout if step == "import" else
                             song_timeout(timeout, duration) if step.endswith("@song") else timeout)
                    ev = child.next_event(f"{name} {step}", limit, watch=path)
                    if ev["event"] == "done":
                        return out
                    step, path = _handle(out, ev, left)
                    if ev["event"] == "import" and not ev["ok"]:
                        return out
            except ChildHung as e:
                if step == "import":
                    out.import_hang, out.error = e.hang, e.hang.describe()
                    return out
                _record_hang(out, step, e.hang, left)
                for f in list(left):  # one hang is enough: the rest would cost a timeout each
                    _record(out, Cell(f, "not_tried", f"not tried: backend hung on {step}"), left)
                return out
            except ChildDied as e:
                if step == "import":
                    out.available, out.error = False, str(e)
                    return out
                _record(out, Cell(step, "failed", str(e)), left)
        if not left and not want_int16:
            return out


def _handle(out: BackendProbe, ev: dict[str, Any], left: list[str]) -> tuple[str, str | None]:
    kind = ev["event"]
    if kind == "import":
        out.available, out.import_s = ev["ok"], ev["seconds"]
        out.info, out.error = ev.get("info", {}), ev.get("error")
        return "import", None
    if kind == "start":
        return ev["format"], ev["path"]
    if kind == "saved":
        fmt = FORMATS[ev["format"]]
        if not ev["ok"]:
            cell = Cell(fmt.name, "failed", ev["error"], ev.get("cold_s"))
        else:
            v = verify_file(ev["path"], test_signal(), TEST_RATE, fmt)
            cell = Cell(fmt.name, v.outcome, v.message, ev["cold_s"], ev["warm_s"], subtype=v.subtype)
        _record(out, cell, left)
        return fmt.name, None
    if kind == "song":
        cell = next(c for c in out.cells if c.format == ev["format"])
        if ev["ok"]:
            v = verify_file(ev["path"], test_signal(ev["duration"]), TEST_RATE, FORMATS[ev["format"]])
            cell.song_s = ev["seconds"]
            if v.outcome != "ok" and cell.outcome == "ok":
                cell.outcome, cell.message = v.outcome, f"song-length save: {v.message}"
        else:
            cell.outcome, cell.message = "failed", f"song-length save: {ev['error']}"
        return ev["format"], None
    if kind == "int16":
        if ev["ok"]:
            v = verify_file(ev["path"], test_signal(), TEST_RATE, FORMATS["wav"])
            out.int16_trap = v.square_wave
        return "int16_tensor", None
    return kind, None


def _record(out: BackendProbe, cell: Cell, left: list[str]) -> None:
    out.cells.append(cell)
    if cell.format in left:
        left.remove(cell.format)


def _record_hang(out: BackendProbe, step: str, hang: Hang, left: list[str]) -> None:
    base = step.split("@")[0]
    if step == "int16_tensor":
        return
    existing = next((c for c in out.cells if c.format == base), None)
    if existing is not None:  # the song-length save of a format that passed at 1 s
        existing.outcome, existing.message, existing.hang = "hung", hang.describe(), hang
        return
    _record(out, Cell(base, "hung", hang.describe(), hang=hang), left)
