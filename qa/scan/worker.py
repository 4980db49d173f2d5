"""One file at a time in a child process, under a time limit, so that a decoder that hangs or
crashes costs one row and not the scan.

The parent (:class:`FileWorker`) starts ``python -m qa.scan.worker`` and talks JSON lines over
its stdin/stdout: first the profile, then one request per file; the child answers each with the
item of :func:`qa.analyze.check_path` (the ``check`` command's own per-file function). When no
answer comes within the file's limit (``timeout_s``, plus :data:`TIMEOUT_PER_AUDIO_S` for each
second of audio its header declares, which the child reports before it decodes: a hang before
that gets ``timeout_s``) the parent kills the child's process group and the file
becomes a row whose ``readable`` check is ``error`` with the reason; when the child dies (a
signal, an exit), likewise. The next file starts a fresh child. A child whose parent dies sees
end-of-file on stdin and exits.

A subprocess, not a multiprocessing child, because Dask runs tasks in daemonic processes, which
may not have multiprocessing children.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from typing import Any, Mapping

from qa.results import CheckResult, ItemResult

#: Default per-file time limit (s): a 10-minute 96 kHz song checks in well under 20 s.
DEFAULT_TIMEOUT_S = 120.0
#: Seconds added to the limit for each second of audio a file's header declares: an hour of
#: audio checks in about 55 s of CPU, and gets 120 + 720 s (room for a loaded machine).
TIMEOUT_PER_AUDIO_S = 0.2
#: How long a killed child may take to die before the lane goes on without it (s).
REAP_TIMEOUT_S = 10.0
#: How long a fresh child may take to import the checks before its first file (s).
STARTUP_TIMEOUT_S = 300.0
#: Numeric libraries in the child use one thread: the scan's parallelism is its lanes.
_ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
_HINT = ("listen to or re-export the file; if many files do this, run `audio-qa check FILE` on "
         "one to see where it stops, or raise --file-timeout")


def error_item(path: str, reason: str) -> dict[str, Any]:
    """The row of a file the worker could not finish: ``readable`` = error with the reason."""
    return ItemResult(kind="file", path=path,
                      checks=(CheckResult("readable", "error", f"{path}: {reason}", hint=_HINT),),
                      notes=(f"not measured: {reason}",)).to_dict()


class FileWorker:
    """A child that checks files for this thread; restarted after a hang or a crash."""

    def __init__(self, context: Mapping[str, Any], timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.context = dict(context)
        self.timeout_s = float(timeout_s)
        self.proc: subprocess.Popen | None = None
        self._lines: queue.Queue = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=20)

    def check(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """The item dict of one manifest entry (``{"path", "sample_rate", ...}``)."""
        path = str(entry["path"])
        try:
            self._ensure()
            assert self.proc is not None and self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(dict(entry)) + "\n")
            self.proc.stdin.flush()
        except OSError as e:  # the child died between two files (a broken pipe)
            return error_item(path, self._died(f"the worker could not take it ({e.strerror or e})"))
        start, limit = time.monotonic(), self.timeout_s
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, start + limit - time.monotonic()))
            except queue.Empty:
                self.close()
                return error_item(path, f"decoding and checking did not finish within {limit:g} s "
                                        "(a hanging decoder or a stalled read); the worker was stopped")
            if line is None:
                return error_item(path, self._died("the worker process died while checking it"))
            try:
                answer = json.loads(line)
            except json.JSONDecodeError:
                self.close()
                return error_item(path, f"the worker answered {line[:80]!r} instead of a result")
            if "audio_s" not in answer:
                break
            limit = file_limit_s(self.timeout_s, answer["audio_s"])
        if "error" in answer:
            return error_item(path, f"the check raised {answer['error']}")
        return answer["item"]

    def close(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=REAP_TIMEOUT_S)
        except subprocess.TimeoutExpired:  # stuck in the kernel (a dead NFS server): let it go
            print(f"audio-qa scan: worker {proc.pid} did not die within {REAP_TIMEOUT_S:g} s of "
                  "SIGKILL (an uninterruptible read); it is left behind, the scan goes on with a "
                  "new worker", file=sys.stderr)
        for f in (proc.stdin, proc.stdout, proc.stderr):
            if f is not None:
                f.close()

    def __enter__(self) -> "FileWorker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        self.close()
        self._lines = queue.Queue()
        self._stderr.clear()
        env = {**os.environ, **_ONE_THREAD}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qa.scan.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
        self.proc.stdin.write(json.dumps(self.context) + "\n")
        self.proc.stdin.flush()
        threading.Thread(target=_pump, args=(self.proc.stdout, self._lines), daemon=True).start()
        threading.Thread(target=_keep_tail, args=(self.proc.stderr, self._stderr), daemon=True).start()
        # The per-file clock starts once the child has imported the checks, not before.
        try:
            ready = self._lines.get(timeout=STARTUP_TIMEOUT_S)
        except queue.Empty:
            ready = None
        if ready is None or json.loads(ready) != {"ready": True}:
            raise OSError(f"the worker did not start within {STARTUP_TIMEOUT_S:g} s")

    def _died(self, what: str) -> str:
        proc, code = self.proc, None
        if proc is not None:
            try:
                code = proc.wait(timeout=5)  # stdout closed: the child is exiting or gone
            except subprocess.TimeoutExpired:
                pass
        self.close()
        how = ("" if code is None else f" (killed by signal {-code})" if code < 0
               else f" (exit status {code})")
        tail = next((s for s in reversed(self._stderr) if s.strip()), "")
        return f"{what}{how}" + (f": {tail.strip()}" if tail else "")


def file_limit_s(timeout_s: float, audio_s: float) -> float:
    """The time limit (s) of a file whose header declares ``audio_s`` seconds of audio."""
    return timeout_s + TIMEOUT_PER_AUDIO_S * max(0.0, float(audio_s))


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _keep_tail(stream, tail: deque) -> None:
    for line in stream:
        tail.append(line)


def context_spec(profile: Any, *, expect_sample_rate: int | None, expect_channels: int | None,
                 expect_duration: float | None, read: Any = None) -> dict[str, Any]:
    """What a child needs to build the :class:`~qa.checks.CheckContext`: plain JSON (``read``:
    the :class:`~qa.loading.ReadOptions`, default ones when None)."""
    from qa.loading import ReadOptions

    r = read or ReadOptions()
    raw = r.raw_format
    return {"profile": {"name": profile.name, "description": profile.description,
                        "thresholds": {k: dict(v) for k, v in profile.thresholds.items()}},
            "expect": {"sample_rate": expect_sample_rate, "channels": expect_channels,
                       "duration": expect_duration},
            "read": {"decode_budget_mb": r.decode_budget_mb, "max_duration_s": r.max_duration_s,
                     "raw_format": None if raw is None else
                     f"{raw.subtype}:{raw.sample_rate}:{raw.channels}:{raw.endian}"}}


def _serve() -> int:  # pragma: no cover - runs in the child, exercised by the scan tests
    from qa.allocator import keep_freed_memory
    from qa.analyze import check_path
    from qa.checks import CheckContext
    from qa.loading import MAX_DURATION_S, RawFormat, ReadOptions
    from qa.profiles import Profile

    # Answers go to the original stdout; anything a library prints (Python or C) goes to stderr,
    # so it can never corrupt the protocol.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    spec = json.loads(sys.stdin.readline())
    p = spec["profile"]
    profile = Profile(p["name"], p["description"], p["thresholds"])
    default = spec["expect"]
    r = spec.get("read") or {}
    read = ReadOptions(decode_budget_mb=r.get("decode_budget_mb"),
                       max_duration_s=r.get("max_duration_s") or MAX_DURATION_S,
                       raw_format=RawFormat.parse(r["raw_format"]) if r.get("raw_format") else None)
    keep_freed_memory()  # each file's big temporaries reuse the last one's pages
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in sys.stdin:
        entry = json.loads(line)
        exp = {k: entry.get(k) if entry.get(k) is not None else default.get(k) for k in default}
        ctx = CheckContext(profile=profile, expect_sample_rate=exp["sample_rate"],
                           expect_channels=exp["channels"], expect_duration=exp["duration"],
                           read=read)
        try:
            answer = {"item": check_path(entry["path"], ctx,
                                         on_open=lambda src: _announce_duration(src, answers)).to_dict()}
        except Exception as e:  # a row that says what raised; the next file goes on
            answer = {"error": f"{type(e).__name__}: {e}"}
        answers.write(json.dumps(answer, allow_nan=False) + "\n")
        answers.flush()
    return 0


def _announce_duration(src, answers) -> None:  # pragma: no cover - in the child
    """Tell the parent how long the opened file says it is, before it is decoded."""
    answers.write(json.dumps({"audio_s": src.info.frames / src.info.sample_rate}) + "\n")
    answers.flush()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_serve())
