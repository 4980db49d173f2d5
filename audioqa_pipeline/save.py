"""The save stage: :func:`qa.io.save_audio` under a timeout, its outcome turned into the backend
checks of the contract (``save_timeout``, ``save_roundtrip``, ``backend_available``,
``output_dir``).

``save_audio`` validates the samples, writes a temporary file in a child process that is killed
after ``timeout_s``, fsyncs it, reads it back and renames it into place; a backend that fails is
recorded and the next one tried. A refused or failed save is a caught fault of this stage, never
an exception out of the run. The save faults name their own broken writer
(:mod:`audioqa_pipeline.writers`, by ``module:function``), so a hang or a truncated write happens
for real in the child and is caught by the real timeout / read-back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from qa.io import SampleError, SaveError, save_audio
from qa.results import CheckResult

_DOCTOR = "run `audio-qa doctor --output-dir DIR` for timed saves per backend and a directory check"


@dataclass
class SaveOutcome:
    """``stall`` is the hung child's stack dump in the stage watchdog's shape (or None)."""

    path: str
    checks: list[CheckResult]
    written: bool
    stall: dict[str, Any] | None = None


def save_stage(samples: Any, path: str, sample_rate: int, timeout_s: float,
               backends: Sequence[str] | None = None) -> SaveOutcome:
    """Save ``samples`` (channels-first floats in [-1, 1]) to ``path`` with ``save_audio``;
    ``backends`` None means the default order (soundfile, scipy, torchaudio)."""
    try:
        res = save_audio(samples, path, sample_rate, backends=backends, timeout_s=timeout_s)
    except SampleError as e:
        return SaveOutcome(path, [CheckResult(
            "save_roundtrip", "fail", f"save of {path} refused before writing: {e}", None, None, None,
            hint="hand the writer float samples in [-1, 1] (int16 PCM / 32768, or the int16 tensor "
            "itself), never int16 values cast to float")], False)
    except SaveError as e:
        return _failed(path, e, timeout_s)
    fallbacks = [a for a in res.attempts if a.outcome not in ("ok", "unsupported")]
    tried = "; ".join(f"{a.backend}: {a.outcome} ({a.error})" for a in fallbacks)
    timing = CheckResult(
        "save_timeout", "warn" if any(a.outcome == "hung" for a in fallbacks) else "pass",
        f"saved {res.path} with {res.backend} in {res.seconds:.2f} s (limit {timeout_s:g} s per backend)"
        + (f" after {tried}" if tried else ""), round(res.seconds, 3), timeout_s, "s")
    verified = CheckResult(
        "save_roundtrip", "warn" if fallbacks else "pass",
        f"{res.path}: {res.subtype} written by {res.backend}, read back and matched the samples"
        + (f" (earlier backends failed: {tried})" if tried else ""), None, None, None,
        hint="fix or uninstall the failing backend (`audio-qa doctor`)" if fallbacks else None)
    return SaveOutcome(res.path, [timing, verified], True)


def _failed(path: str, e: SaveError, timeout_s: float) -> SaveOutcome:
    checks: list[CheckResult] = []
    stall = None
    hung = [a for a in e.attempts if a.outcome == "hung"]
    if hung:
        a = hung[0]
        checks.append(CheckResult(
            "save_timeout", "fail", f"saving {path}: {a.error}; the writer's child process was killed "
            "and nothing was written (its stack is in the stage's 'stall' record)", round(a.seconds, 3),
            timeout_s, "s", hint=f"the stack shows the call that blocked; {_DOCTOR}"))
        stall = {"stage": "save", "source": f"save_audio child process ({a.backend})",
                 "budget_s": timeout_s, "elapsed_s": round(a.seconds, 6), "state": a.hang.kind,
                 "bytes_written": a.hang.bytes_written, "threads": a.hang.threads()}
    bad = [a for a in e.attempts if a.outcome in ("failed", "wrong_subtype")]
    if e.reason is not None:
        checks.append(CheckResult("output_dir", "fail", str(e), hint=_DOCTOR))
    elif bad or not hung:
        cid = "save_roundtrip" if bad else "backend_available"
        checks.append(CheckResult(cid, "fail", str(e), None, None, None, hint=(
            "the file was not what was written (cut short, converted or unreadable); nothing was "
            "renamed over the target" if bad else f"install a working backend; {_DOCTOR}")))
    return SaveOutcome(path, checks, False, stall)
