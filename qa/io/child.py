"""Running a save in a child process with a timeout, and telling a slow save from a stalled one.

An import can crash the interpreter and a write to a wedged filesystem can block forever, so the
doctor and ``save_audio(timeout_s=...)`` do the work in ``python -m ...`` children that report
JSON lines on stdout. The child arms :mod:`faulthandler` to dump its Python stack shortly before
the parent's deadline; the parent watches the size of the file being written, and when the
deadline passes it kills the child and reports the stack and whether the file was still growing
(slow I/O) or not (stalled).

As a program (``python -m qa.io.child SPEC``) this runs one writer of :mod:`qa.io.backends`.
"""

from __future__ import annotations

import faulthandler
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

#: How often the parent samples the size of the file being written (s).
POLL_S = 0.05


@dataclass(frozen=True)
class Hang:
    """A step that passed its deadline. ``growing`` is True when the file grew during the last
    third of the wait (slow), False when it did not (stalled); ``bytes_written`` is its size."""

    step: str
    seconds: float
    growing: bool
    bytes_written: int | None
    stack: str

    @property
    def kind(self) -> str:
        return "slow" if self.growing else "stalled"

    def threads(self) -> list[dict[str, Any]]:
        """The child's faulthandler dump as ``[{"name", "stack"}]``, stacks oldest call first
        as ``file:line in function`` (the shape of the stage watchdog's dump)."""
        out: list[dict[str, Any]] = []
        for line in self.stack.splitlines():
            head = line.strip()
            if head.startswith(("Thread 0x", "Current thread 0x")):
                out.append({"name": head.split(" (most recent")[0], "stack": []})
            elif head.startswith("File ") and out:
                m = re.match(r'File "(.*)", line (\d+) in (.*)', head)
                out[-1]["stack"].insert(0, f"{m.group(1)}:{m.group(2)} in {m.group(3)}" if m else head)
        return out

    def describe(self) -> str:
        size = "no file" if self.bytes_written is None else f"{self.bytes_written} bytes written"
        state = "the file was still growing (slow)" if self.growing else "the file had stopped growing (stalled)"
        return f"{self.step} did not finish within {self.seconds:.1f} s: {state}, {size}"


class ChildHung(Exception):
    def __init__(self, hang: Hang):
        self.hang = hang
        super().__init__(hang.describe())


class ChildDied(Exception):
    """The child exited without reporting: a crash (negative status = signal) or an exit."""

    def __init__(self, returncode: int, stderr: str):
        self.returncode = returncode
        self.stderr = stderr
        how = f"killed by signal {-returncode}" if returncode < 0 else f"exited with status {returncode}"
        tail = stderr.strip().splitlines()[-1:] or ["no message"]
        super().__init__(f"the child process {how}: {tail[0]}")


class Child:
    """A ``python`` child speaking JSON lines; use as a context manager (killed on exit)."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None):
        self._err = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        full_env = dict(os.environ if env is None else env)
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, full_env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [sys.executable, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._err, text=True, env=full_env,
            start_new_session=True,  # its own process group: a kill reaches the tools it runs
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def next_event(self, step: str, timeout: float, watch: str | None = None) -> dict[str, Any]:
        """The next JSON event, or :class:`ChildHung` after ``timeout`` seconds (the child is
        then killed) or :class:`ChildDied` when it exits without one."""
        start = time.monotonic()
        sizes: list[tuple[float, int | None]] = []
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= timeout:
                self.kill()
                raise ChildHung(_hang(step, timeout, sizes, self.stderr()))
            try:
                line = self._lines.get(timeout=min(POLL_S, max(0.0, timeout - elapsed)))
            except queue.Empty:
                sizes.append((time.monotonic() - start, _size(watch)))
                continue
            if line is None:
                rc = self.proc.wait()
                raise ChildDied(rc, self.stderr())
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)

    def stderr(self) -> str:
        self._err.flush()
        self._err.seek(0)
        return self._err.read()

    def kill(self) -> None:
        """Kill the child's whole process group (an ``ffmpeg`` it started hangs with it), even
        when the child itself has exited, then reap the child."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is gone
        self.proc.wait()

    def __enter__(self) -> "Child":
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
        self._err.close()


def _size(path: str | None) -> int | None:
    if path is None:
        return None
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _hang(step: str, timeout: float, sizes: list[tuple[float, int | None]], stderr: str) -> Hang:
    final = sizes[-1][1] if sizes else None
    cut = timeout * 2 / 3
    before = [s for t, s in sizes if t <= cut]
    earlier = before[-1] if before else None
    growing = final is not None and (earlier is None or final > earlier)
    stack = stderr[stderr.find("Thread 0x"):] if "Thread 0x" in stderr else stderr[-4000:]
    if "Timeout (" in stderr:
        stack = stderr[stderr.find("Timeout ("):]
    return Hang(step, timeout, growing, final, stack.strip())


def describe_error(e: BaseException) -> str:
    """``Type: message``, with the cause when the library wrapped one (torchaudio wraps the
    TorchCodec ImportError that names the missing FFmpeg library)."""
    text = f"{type(e).__name__}: {e}"
    c = e.__cause__ or e.__context__
    if c is not None and str(c) not in text:
        text += f" (caused by {type(c).__name__}: {c})"
    return text


# -- the child side -----------------------------------------------------------------------------
def arm(timeout: float) -> None:
    """Dump every thread's stack to stderr shortly before the parent gives up on this step."""
    margin = min(1.0, 0.25 * timeout)
    faulthandler.cancel_dump_traceback_later()
    faulthandler.dump_traceback_later(max(0.05, timeout - margin), exit=False)


def emit(event: dict[str, Any]) -> None:
    print(json.dumps(event), flush=True)


def _main(spec_json: str) -> int:
    import numpy as np

    from qa.io.backends import get_backend
    from qa.io.formats import Format

    faulthandler.enable()  # a crash in a native library still prints the Python stack
    spec = json.loads(spec_json)
    arm(spec["timeout"])
    fmt = Format(**{**spec["format"], "accept": tuple(spec["format"]["accept"])})
    x = np.load(spec["npy"])
    t0 = time.perf_counter()
    try:
        backend = get_backend(spec["backend"], allow_test=bool(spec.get("allow_test")))
        backend.write(spec["path"], x, int(spec["sample_rate"]), fmt)
    except (ImportError, OSError, RuntimeError, ValueError, TypeError) as e:
        emit({"ok": False, "error": describe_error(e), "errno": getattr(e, "errno", None),
              "seconds": time.perf_counter() - t0})
        return 0
    emit({"ok": True, "seconds": time.perf_counter() - t0})
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))
