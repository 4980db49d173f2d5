"""ACE-Step 1.5's REST API (``acestep.api_server``): answers wrapped in ``{"data", "code",
"error", "timestamp"}``; ``POST /release_task``; ``POST /query_result`` with
``{"task_id_list": [...]}`` giving integer status 0 (queued/running), 1 (succeeded), 2 (failed)
and the result as a JSON *string* inside the JSON; ``GET /v1/audio?path=``; ``GET /health``;
``GET /v1/stats``."""

from __future__ import annotations

from qa.probe.adapters.base import Adapter, Health, JobState, dig, epoch, json_body
from qa.probe.download import fetch
from qa.probe.errors import ProbeError
from qa.probe.http import Http, decode_json
from qa.probe.request import CanaryRequest


class AceStepAdapter(Adapter):
    name = "acestep"

    def __init__(self, url: str, *, headers: dict[str, str], timeout_s: float = 30.0):
        self.http = Http(url, headers=headers, timeout_s=timeout_s)

    def _data(self, method: str, path: str, **kw):
        d = self.http.json(method, path, **kw)
        code = d.get("code") if isinstance(d, dict) else None
        if isinstance(code, int) and code >= 400:  # an error inside a 200 envelope
            raise ProbeError("bad_request" if code < 500 else "http_5xx",
                             f"{method} {path}: code {code}: {d.get('error')}", server_message=d.get("error"))
        return d.get("data") if isinstance(d, dict) else None

    def health(self) -> Health:
        r = self.http.request("GET", "/health", any_status=True)
        body = json_body(r)
        status = dig(body, "data.status") or dig(body, "status")
        ready = r.status_code == 200 and str(status).lower() in ("ok", "healthy")
        depth = None
        s = self.http.request("GET", "/v1/stats", ok_404=True)
        if s.status_code == 200:
            depth = dig(decode_json(s, "GET /v1/stats"), "data.queue_size")
        return Health(ready, f"HTTP {r.status_code}, status {status!r}", depth if isinstance(depth, int) else None)

    def submit(self, req: CanaryRequest) -> str:
        body = {"prompt": req.style, "lyrics": req.lyrics, "audio_duration": req.duration_s, "seed": req.seed,
                "use_random_seed": False, "audio_format": "wav", **req.extra}
        data = self._data("POST", "/release_task", json=body, headers={"Idempotency-Key": req.idempotency_key})
        task = dig(data, "task_id")
        if not task:
            raise ProbeError("http_5xx", f"POST /release_task: no data.task_id in {str(data)[:200]}")
        return str(task)

    def poll(self, job_id: str) -> JobState:
        data = self._data("POST", "/query_result", json={"task_id_list": [job_id]})
        entry = next((e for e in data or [] if isinstance(e, dict) and str(e.get("task_id")) == job_id), None)
        if entry is None:
            raise ProbeError("job_lost", f"POST /query_result: task {job_id} is not in the answer "
                             "(the service no longer knows a task it accepted)")
        code, pos = entry.get("status"), entry.get("queue_position")
        times = (epoch(entry.get("create_time")), epoch(entry.get("start_time")), epoch(entry.get("end_time")))
        if code == 0:
            return JobState("queued" if pos else "processing", pos, None, None, *times)
        if code == 2:
            return JobState("failed", None, None, entry.get("error") or entry.get("progress_text"), *times)
        if code != 1:
            raise ProbeError("http_5xx", f"POST /query_result: status {code!r} is not 0, 1 or 2")
        audio = dig(entry, "result|json.0.file")
        if not audio:
            raise ProbeError("http_5xx", f"POST /query_result: succeeded with no result[0].file "
                             f"({str(entry.get('result'))[:200]})")
        return JobState("done", None, str(audio), None, *times)

    def fetch(self, job_id: str, state: JobState, deadline_s: float):
        return fetch(self.http, state.audio, deadline_s)

    def close(self) -> None:
        self.http.close()
