"""Any JSON-over-HTTP service, described in a TOML file (``--spec FILE``)::

    [health]
    path = "/api/v1/health"
    ready = "status"                 # dotted JSON path to the readiness word
    ready_values = ["healthy", "ok"]
    [submit]
    method = "POST"
    path = "/api/v1/generate"
    body = { lyrics = "{lyrics}", style_prompt = "{style}", audio_length = "{duration}", seed = "{seed}" }
    job_id = "job_id"
    [poll]
    method = "GET"
    path = "/api/v1/status/{job_id}"
    status = "status"
    queued = ["queued"]; processing = ["processing"]; done = ["completed"]; failed = ["failed"]
    position = "queue_position"      # optional
    error = "error"                  # optional
    audio = "download_url"           # URL, path or data URI of the audio in the status JSON
    created_at = "created_at"        # optional server timestamps (ISO 8601 or Unix seconds)
    started_at = "started_at"
    finished_at = "completed_at"
    [fetch]                          # optional: a second call whose JSON holds the audio
    path = "/api/v1/result/{job_id}"
    audio = "audio"

Paths are dotted (``data.0.result|json.0.file``: ``|json`` parses a JSON string on the way).
"""

from __future__ import annotations

import sys
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from qa.probe.adapters.base import Adapter, Health, JobState, dig, epoch, state_word
from qa.probe.download import fetch
from qa.probe.errors import ProbeError
from qa.probe.http import Http, decode_json, server_message
from qa.probe.request import CanaryRequest, RequestFileError, substitute

_REQUIRED = {"submit": ("path", "job_id"), "poll": ("path", "status", "done", "failed", "audio")}


def load_spec(path: str | None) -> dict[str, Any]:
    if path is None:
        raise RequestFileError("--adapter generic needs --spec FILE (TOML routes and JSON paths)")
    try:
        with open(path, "rb") as f:
            spec = tomllib.load(f)
    except FileNotFoundError:
        raise RequestFileError(f"--spec {path}: no such file") from None
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RequestFileError(f"--spec {path}: not valid TOML ({e})") from None
    for table, keys in _REQUIRED.items():
        missing = [k for k in keys if k not in spec.get(table, {})]
        if missing:
            raise RequestFileError(f"--spec {path}: [{table}] needs {', '.join(missing)}")
    return spec


class GenericAdapter(Adapter):
    name = "generic"

    def __init__(self, url: str, spec: dict[str, Any], *, headers: dict[str, str], timeout_s: float = 30.0):
        self.spec = spec
        self.http = Http(url, headers=headers, timeout_s=timeout_s)

    def _call(self, table: dict[str, Any], values: dict[str, Any], body: Any = None, ok_404: bool = False):
        method = table.get("method", "POST" if body is not None else "GET")
        path = substitute(table["path"], {k: v for k, v in values.items()})
        return method, path, self.http.request(method, str(path), json=body, ok_404=ok_404)

    def health(self) -> Health:
        h = self.spec.get("health")
        if not h:
            return Health(True, "no [health] in the spec: preflight skipped")
        path = h["path"]
        r = self.http.request(h.get("method", "GET"), path, any_status=True)
        word = dig(decode_json(r, f"GET {path}"), h["ready"]) if r.status_code == 200 and "ready" in h else None
        values = [str(v).lower() for v in h.get("ready_values", ["ok", "healthy", "ready"])]
        ready = r.status_code == 200 and ("ready" not in h or str(word).lower() in values)
        return Health(ready, f"HTTP {r.status_code}, {h.get('ready', 'status')} {word!r}")

    def submit(self, req: CanaryRequest) -> str:
        s = self.spec["submit"]
        body = {**substitute(s.get("body", {}), req.fields()), **req.extra}
        headers = {"Idempotency-Key": req.idempotency_key}
        method = s.get("method", "POST")
        r = self.http.request(method, s["path"], json=body, headers=headers)
        job = dig(decode_json(r, f"{method} {s['path']}"), s["job_id"])
        if job is None:
            raise ProbeError("http_5xx", f"{method} {s['path']}: no {s['job_id']} in the answer")
        return str(job)

    def poll(self, job_id: str) -> JobState:
        p = self.spec["poll"]
        body = substitute(p["body"], {"job_id": job_id}) if "body" in p else None
        method, path, r = self._call(p, {"job_id": job_id}, body, ok_404=True)
        if r.status_code == 404:
            raise ProbeError("job_lost", f"{method} {path}: 404 for a job the service accepted",
                             server_message=server_message(r), http_status=404)
        d = decode_json(r, f"{method} {path}")
        words = {s: tuple(str(w).lower() for w in p.get(s, ())) for s in ("queued", "processing", "done", "failed")}
        get = lambda key: dig(d, p[key]) if key in p else None  # noqa: E731
        return JobState(state_word(dig(d, p["status"]), words), get("position"), get("audio"), get("error"),
                        epoch(get("created_at")), epoch(get("started_at")), epoch(get("finished_at")))

    def fetch(self, job_id: str, state: JobState, deadline_s: float):
        f = self.spec.get("fetch")
        ref = state.audio
        if f:
            method, path, r = self._call(f, {"job_id": job_id})
            ref = dig(decode_json(r, f"{method} {path}"), f["audio"])
        if not ref:
            raise ProbeError("download_error", "the job is done but its answer names no audio")
        return fetch(self.http, str(ref), deadline_s)

    def close(self) -> None:
        self.http.close()
