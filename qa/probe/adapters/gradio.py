"""Gradio apps, through ``gradio_client`` (the client Gradio publishes): ``Client(url)`` is the
preflight (it reads the app's config and API), ``submit`` joins Gradio's queue, ``Job.status()``
gives the queue rank and the stage, and the result is a file gradio_client downloaded.

The endpoint and its inputs come from the request's ``[gradio]`` table (``api_name``, default
``/generate``; ``inputs``, default ``["{lyrics}", "{style}", "{duration}", "{seed}"]``).
"""

from __future__ import annotations

import os
import tempfile
import uuid

from qa.probe.adapters.base import Adapter, Health, JobState
from qa.probe.errors import ProbeError
from qa.probe.http import INSTALL_HINT
from qa.probe.request import CanaryRequest, substitute

DEFAULT_INPUTS = ["{lyrics}", "{style}", "{duration}", "{seed}"]


class GradioAdapter(Adapter):
    name = "gradio"

    def __init__(self, url: str, *, headers: dict[str, str]):
        try:
            import gradio_client  # noqa: F401
        except ImportError:
            raise ProbeError("connect_error", f"gradio_client is not installed; {INSTALL_HINT}") from None
        self.url, self.headers = url, headers
        self.tmp = tempfile.TemporaryDirectory(prefix="audio-qa-gradio-")
        self.client = None
        self.jobs: dict[str, object] = {}

    def _client(self):
        if self.client is None:
            from gradio_client import Client

            try:
                self.client = Client(self.url, headers=self.headers or None, download_files=self.tmp.name,
                                     verbose=False, analytics_enabled=False)
            except Exception as e:  # gradio_client raises httpx, ValueError and its own errors here
                cls = "connect_error" if "connect" in type(e).__name__.lower() or "connect" in str(e).lower() else "not_ready"
                raise ProbeError(cls, f"gradio_client could not open {self.url}: {type(e).__name__}: {e}") from None
        return self.client

    def health(self) -> Health:
        c = self._client()
        n = len(c.view_api(print_info=False, return_format="dict").get("named_endpoints", {}))
        return Health(True, f"Gradio app with {n} named endpoint(s)")

    def submit(self, req: CanaryRequest) -> str:
        g = req.gradio
        api = g.get("api_name", "/generate")
        inputs = substitute(g.get("inputs", DEFAULT_INPUTS), req.fields())
        try:
            job = self._client().submit(*inputs, api_name=api)
        except ValueError as e:  # an unknown api_name or wrong inputs
            raise ProbeError("bad_request", f"gradio {api}: {e}", server_message=str(e)) from None
        key = uuid.uuid4().hex
        self.jobs[key] = job
        return key

    def poll(self, job_id: str) -> JobState:
        from gradio_client.utils import Status

        job = self.jobs[job_id]
        st = job.status()
        code = st.code
        if code == Status.QUEUE_FULL:
            raise ProbeError("queue_full", "Gradio answered QUEUE_FULL", server_message="queue full")
        if code == Status.FINISHED or job.done():
            if not job.done():
                return JobState("processing")
            err = job.exception()
            if err is not None:
                return JobState("failed", error=f"{type(err).__name__}: {err}")
            return JobState("done", audio=_path_of(job.result()))
        if code == Status.CANCELLED:
            return JobState("failed", error="the Gradio job was cancelled")
        if code in (Status.STARTING, Status.JOINING_QUEUE, Status.IN_QUEUE):
            rank = st.rank + 1 if isinstance(st.rank, int) else None
            return JobState("queued", rank)
        return JobState("processing")

    def fetch(self, job_id: str, state: JobState, deadline_s: float):
        path = state.audio
        if not path or not os.path.isfile(path):
            raise ProbeError("download_error", f"gradio_client returned {path!r}, not a downloaded file")
        with open(path, "rb") as f:
            data = f.read()
        return data, None, {"redirects": 0, "content_length": len(data), "file": os.path.basename(path)}

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        self.tmp.cleanup()


def _path_of(result) -> str | None:
    """A filepath output, or the ``path``/``value`` of a FileData-like dict."""
    if isinstance(result, (list, tuple)) and result:
        result = result[0]
    if isinstance(result, dict):
        return result.get("path") or result.get("value")
    return result if isinstance(result, str) else None
