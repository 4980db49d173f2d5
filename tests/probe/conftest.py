"""A real reference service (``python -m qa serve``) in a subprocess on 127.0.0.1, always torn
down, and the probe CLI run in process against it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT

#: The reference service imports torch before it says ready; on 2 busy cores that takes a while.
READY_TIMEOUT_S = 180.0
_HEALTH = {"diffrhythm": "/api/v1/health", "acestep": "/health", "gradio": "/config"}


@contextlib.contextmanager
def serve(*args: str, api: str = "diffrhythm", wait_ready: bool = True):
    """Start ``audio-qa serve --api API ARGS``; yield its URL; SIGTERM it (then SIGKILL) at the end."""
    import httpx

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--host", "127.0.0.1", "--port", "0",
                             "--api", api, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), f"no URL from audio-qa serve: {url!r} {proc.stderr.read()}"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while wait_ready:
            assert proc.poll() is None, f"audio-qa serve exited {proc.returncode}: {proc.stderr.read()}"
            with contextlib.suppress(httpx.HTTPError):
                r = httpx.get(url + _HEALTH[api], timeout=5)
                if r.status_code == 200 and "starting" not in r.text:
                    break
            assert time.monotonic() < deadline, f"{url} not ready in {READY_TIMEOUT_S} s"
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def probe(tmp_path: Path, *args: str) -> tuple[int, dict]:
    """``audio-qa probe ARGS --json FILE`` in process; (exit status, the probe item)."""
    from qa.cli import main

    out = tmp_path / f"probe-{time.monotonic_ns()}.json"
    rc = main(["probe", *args, "--json", str(out)])
    doc = json.loads(out.read_text())
    assert doc["schema"] == "audio-qa.report/1"
    (item,) = doc["items"]
    assert item["kind"] == "probe"
    return rc, item


def deadlines(processing: float = 30.0) -> list[str]:
    """Short deadlines for fault runs (s): a warm reference service queues a lone job for
    milliseconds and processes a 4 s song in about 1 to 6 s on 2 busy cores."""
    return ["--queue-timeout", "6", "--processing-timeout", str(processing), "--stuck-after", "4",
            "--download-timeout", "3"]
