"""DiffRhythm-style FastAPI backends: ``/api/v1/health``, ``/api/v1/generate``,
``/api/v1/status/{id}``, ``/api/v1/download/{id}``, ``/api/v1/queue``."""

from __future__ import annotations

from qa.probe.adapters.base import Adapter, Health, JobState, epoch, json_body, state_word
from qa.probe.download import fetch
from qa.probe.errors import ProbeError
from qa.probe.http import Http, decode_json, server_message
from qa.probe.request import CanaryRequest

WORDS = {"queued": ("queued", "pending", "waiting"), "processing": ("processing", "running", "generating"),
         "done": ("completed", "succeeded", "success", "done", "finished"), "failed": ("failed", "error", "cancelled")}


class DiffRhythmAdapter(Adapter):
    name = "diffrhythm"
    prefix = "/api/v1"

    def __init__(self, url: str, *, headers: dict[str, str], timeout_s: float = 30.0):
        self.http = Http(url, headers=headers, timeout_s=timeout_s)

    def health(self) -> Health:
        r = self.http.request("GET", f"{self.prefix}/health", any_status=True)
        body = json_body(r)
        status = str(body.get("status", "")) if isinstance(body, dict) else ""
        loaded = body.get("models_loaded") if isinstance(body, dict) else None
        ready = r.status_code == 200 and status.lower() in ("healthy", "ok") and loaded is not False
        msg = f"HTTP {r.status_code}, status {status or 'absent'!r}, models_loaded {loaded}"
        depth = body.get("queue_length") if isinstance(body, dict) else None
        q = self.http.request("GET", f"{self.prefix}/queue", ok_404=True)
        if q.status_code == 200:
            depth = decode_json(q, "GET /api/v1/queue").get("queue_length", depth)
        return Health(ready, msg, depth if isinstance(depth, int) else None)

    def submit(self, req: CanaryRequest) -> str:
        body = {"lyrics": req.lyrics, "style_prompt": req.style, "audio_length": req.duration_s,
                "seed": req.seed, **req.extra}
        data = self.http.json("POST", f"{self.prefix}/generate", json=body,
                              headers={"Idempotency-Key": req.idempotency_key})
        job = data.get("job_id") if isinstance(data, dict) else None
        if not job:
            raise ProbeError("http_5xx", f"POST /api/v1/generate: no job_id in {str(data)[:200]}")
        return str(job)

    def poll(self, job_id: str) -> JobState:
        r = self.http.request("GET", f"{self.prefix}/status/{job_id}", ok_404=True)
        if r.status_code == 404:
            raise ProbeError("job_lost", f"GET /api/v1/status/{job_id}: 404 for a job the service accepted",
                             server_message=server_message(r), http_status=404)
        d = decode_json(r, f"GET /api/v1/status/{job_id}")
        return JobState(state_word(d.get("status"), WORDS), d.get("queue_position"),
                        d.get("download_url") or d.get("audio_url"), d.get("error"),
                        epoch(d.get("created_at")), epoch(d.get("started_at")), epoch(d.get("completed_at")))

    def fetch(self, job_id: str, state: JobState, deadline_s: float):
        return fetch(self.http, state.audio or f"{self.prefix}/download/{job_id}", deadline_s)

    def close(self) -> None:
        self.http.close()

