"""``--command 'CMD ...'``: a model run as a command line. The command runs (no shell) with a
deadline in a fresh output folder, then every audio file it wrote is checked.

Placeholders in the arguments: ``{out_dir}``, ``{lyrics_file}`` (the canary's LRC written to a
file), ``{lyrics}``, ``{style}``, ``{duration}``, ``{seed}``; the same values are in the
environment as ``AUDIO_QA_OUT_DIR``, ``AUDIO_QA_LYRICS_FILE``, ... A command that outlives the
processing deadline is killed with its process group (``timeout_processing``); a non-zero exit
is ``job_failed`` with the end of its stderr.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
import time

from qa.loading import iter_audio_paths
from qa.probe.errors import ProbeError
from qa.probe.poll import Deadlines
from qa.probe.request import CanaryRequest, substitute
from qa.probe.runner import RunRecord
from qa.probe.verify import audio_error_class, verify_bytes

STDERR_TAIL = 600


def run_command_once(command: str, req: CanaryRequest, deadlines: Deadlines, profile, index: int) -> RunRecord:
    rec = RunRecord(index)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="audio-qa-probe-cmd-") as tmp:
        out_dir = os.path.join(tmp, "out")
        os.makedirs(out_dir)
        lyrics_file = os.path.join(tmp, "lyrics.lrc")
        with open(lyrics_file, "w", encoding="utf-8") as f:
            f.write(req.lyrics)
        values = {**req.fields(), "out_dir": out_dir, "lyrics_file": lyrics_file}
        try:
            _run(command, values, deadlines.processing_s)
            rec.phases.update(submit_s=0.0, queue_s=0.0, processing_s=time.monotonic() - t0)
            rec.phase_source.update(processing_s="client")
            files = iter_audio_paths([out_dir])
            if not files:
                raise ProbeError("job_failed", f"`{command}` exited 0 and wrote no audio file in {{out_dir}}")
            t1 = time.monotonic()
            items = [_verify_file(p, req, profile) for p in files]
            worst = next((it for it in items if audio_error_class(it)), items[0])  # the first failing file
            rec.file_item = worst
            rec.download = {"files": [os.path.basename(p) for p in files]}
            rec.phases["verify_s"] = time.monotonic() - t1
            cls = audio_error_class(worst)
            if cls:
                rec.error_class = cls
                rec.message = "; ".join(f"{c.id}: {c.message}" for c in worst.checks if c.status in ("fail", "error"))
        except ProbeError as e:
            rec.fail(e)
    rec.phases["total_s"] = time.monotonic() - t0
    return rec


def _verify_file(path: str, req: CanaryRequest, profile):
    with open(path, "rb") as f:
        return verify_bytes(f.read(), None, os.path.basename(path), req, profile)


def _run(command: str, values: dict, deadline_s: float) -> None:
    argv = [str(substitute(a, values)) for a in shlex.split(command)]
    env = {**os.environ, **{f"AUDIO_QA_{k.upper()}": str(v) for k, v in values.items()}}
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                                start_new_session=True)
    except OSError as e:
        raise ProbeError("connect_error", f"cannot start `{argv[0]}`: {e.strerror or e}") from None
    try:
        _, err = proc.communicate(timeout=deadline_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ProbeError("timeout_processing", f"`{command}` still running after {deadline_s:g} s "
                         "(--processing-timeout); killed with its process group") from None
    if proc.returncode != 0:
        tail = err.decode("utf-8", "replace")[-STDERR_TAIL:].strip()
        raise ProbeError("job_failed", f"`{command}` exited {proc.returncode}", server_message=tail or None)
