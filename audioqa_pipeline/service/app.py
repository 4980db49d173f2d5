"""The HTTP face of the reference service (FastAPI): DiffRhythm-style ``/api/v1/...`` routes or
ACE-Step-1.5-style routes over one :class:`~audioqa_pipeline.service.jobs.Service`.

DiffRhythm style (the FastAPI backends teams put in front of DiffRhythm):
``GET /api/v1/health`` (status healthy/degraded, models_loaded, queue_length, active_jobs),
``POST /api/v1/generate`` (lyrics, style_prompt, audio_length, seed; ``X-API-Key``,
``Idempotency-Key``) -> 202 ``{"job_id", "status", "queue_position"}``,
``GET /api/v1/status/{id}`` (status queued/processing/completed/failed, ISO 8601 timestamps,
``download_url``), ``GET /api/v1/download/{id}`` (a 307 redirect to ``/storage/ID.wav``, as a
download that lives in object storage), ``GET /api/v1/result/{id}`` (the audio as a data URI),
``GET /api/v1/queue``, ``GET /api/v1/metrics``.

ACE-Step 1.5 style (its api_server): every answer wrapped as ``{"data", "code", "error",
"timestamp", "extra"}``; ``POST /release_task`` -> ``data.task_id``; ``POST /query_result``
with ``{"task_id_list": [...]}`` -> ``data`` a list of ``{"task_id", "status": 0 running /
1 succeeded / 2 failed, "result": "<JSON text>"}`` where the result is a JSON *string* holding
``[{"file": "/v1/audio?path=...", ...}]``; ``GET /v1/audio?path=``; ``GET /health``;
``GET /v1/stats``.
"""

import asyncio
import base64
import datetime as dt
import json
import os
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from audioqa_pipeline.service.jobs import (RETRY_AFTER_S, GenerationRequest, Job, QueueFullError,
                                           RequestError, Service)

VERSION = "1.0.0"
_FAULT_REFUSALS = {
    "rate_limited": (429, "rate limit exceeded: 1 request per minute per key"),
    "queue_full": (503, "queue is full, try again later"),
    "reject_duration": (422, "audio_length must be 95 or 285 (seconds)"),
    "submit_500": (500, "Internal Server Error: model worker process died"),
}


def create_app(service: Service, api: str = "diffrhythm", api_key: str | None = None):
    """The FastAPI app for ``api`` ("diffrhythm", "acestep" or "gradio") over ``service`` (whose
    worker the caller starts and stops)."""
    app = FastAPI(title=f"audio-qa reference service ({api})", version=VERSION)
    if api == "gradio":
        import gradio as gr

        from audioqa_pipeline.service.gradio_app import create_blocks

        return gr.mount_gradio_app(app, create_blocks(service), path="/")
    if service.fault_name == "auth_required" and api_key is None:
        api_key = os.urandom(16).hex()  # a key nobody was told
    {"diffrhythm": _diffrhythm_routes, "acestep": _acestep_routes}[api](app, service, api_key)
    _storage_route(app, service)
    return app


def _iso(t: float | None) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _authorized(request, api_key: str | None) -> bool:
    if api_key is None:
        return True
    auth = request.headers.get("authorization", "")
    return request.headers.get("x-api-key") == api_key or auth == f"Bearer {api_key}"


def _refusal(service: Service) -> tuple[int, str] | None:
    return _FAULT_REFUSALS.get(service.fault_name or "")


def _retry_headers(code: int) -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_S)} if code in (429, 503) else {}


def _diffrhythm_routes(app, service: Service, api_key: str | None) -> None:
    def error(code: int, detail: str) -> JSONResponse:
        return JSONResponse({"detail": detail}, status_code=code, headers=_retry_headers(code))

    @app.get("/api/v1/health")
    def health():
        st = service.stats()
        loaded = service.ready.is_set() and service.fault_name != "degraded_health"
        body = {"status": "healthy" if loaded else ("degraded" if service.ready.is_set() else "starting"),
                "models_loaded": loaded, "device": "cpu", "queue_length": st["queued"],
                "active_jobs": st["processing"], "version": VERSION}
        # degraded answers 200, as the backends in the field do; starting is 503
        return JSONResponse(body, status_code=200 if service.ready.is_set() else 503)

    @app.get("/api/v1/queue")
    def queue(request: Request):
        if not _authorized(request, api_key):
            return error(401, "missing or invalid X-API-Key")
        st = service.stats()
        return {"queue_length": st["queued"], "active_jobs": st["processing"], "max_queue": st["max_queue"]}

    @app.get("/api/v1/metrics")
    def metrics(request: Request):
        if not _authorized(request, api_key):
            return error(401, "missing or invalid X-API-Key")
        return service.stats()

    @app.post("/api/v1/generate", status_code=202)
    async def generate(request: Request):
        if not _authorized(request, api_key):
            return error(401, "missing or invalid X-API-Key")
        refusal = _refusal(service)
        if refusal:
            return error(*refusal)
        try:
            body = await request.json()
            req = GenerationRequest.from_fields(body.get("lyrics"), body.get("style_prompt"),
                                                body.get("audio_length"), body.get("seed", 0))
            job = service.submit(req, request.headers.get("idempotency-key"))
        except (ValueError, AttributeError) as e:  # JSON errors are ValueErrors too
            return error(422, str(e))
        except QueueFullError as e:
            return error(429, str(e))
        return JSONResponse({"job_id": job.id, "status": job.status, "queue_position": service.position(job.id),
                             "created_at": _iso(job.created_at)}, status_code=202)

    def status_body(job: Job) -> dict[str, Any]:
        done = job.status == "completed"
        return {"job_id": job.id, "status": job.status, "queue_position": service.position(job.id),
                "progress": 1.0 if done else 0.0, "created_at": _iso(job.created_at),
                "started_at": _iso(job.started_at), "completed_at": _iso(job.finished_at),
                "error": job.error, "download_url": f"/api/v1/download/{job.id}" if done else None}

    def lookup(request: Request, job_id: str):
        if not _authorized(request, api_key):
            return None, error(401, "missing or invalid X-API-Key")
        job = service.get(job_id)
        if job is None:
            return None, error(404, f"job {job_id} not found")
        return job, None

    @app.get("/api/v1/status/{job_id}")
    def status(request: Request, job_id: str):
        job, err = lookup(request, job_id)
        return err or status_body(job)

    @app.get("/api/v1/download/{job_id}")
    def download(request: Request, job_id: str):
        job, err = lookup(request, job_id)
        if err:
            return err
        if job.status != "completed":
            return error(409, f"job {job_id} is {job.status}, not completed")
        return RedirectResponse(f"/storage/{job.id}.wav", status_code=307)

    @app.get("/api/v1/result/{job_id}")
    def result(request: Request, job_id: str):
        job, err = lookup(request, job_id)
        if err:
            return err
        body = status_body(job)
        if job.status == "completed":
            with open(job.path, "rb") as f:
                body["audio"] = "data:audio/wav;base64," + base64.b64encode(f.read()).decode("ascii")
        return body


def _acestep_routes(app, service: Service, api_key: str | None) -> None:
    def wrap(data: Any, code: int = 200, err: str | None = None) -> JSONResponse:
        return JSONResponse({"data": data, "code": code, "error": err, "timestamp": int(time.time() * 1000),
                             "extra": None}, status_code=code, headers=_retry_headers(code))

    @app.get("/health")
    def health():
        if not service.ready.is_set():
            return wrap({"status": "starting", "service": "ACE-Step API", "version": "1.5"}, 503, "models loading")
        ok = service.fault_name != "degraded_health"
        return wrap({"status": "ok" if ok else "degraded", "service": "ACE-Step API", "version": "1.5"})

    @app.get("/v1/stats")
    def stats(request: Request):
        if not _authorized(request, api_key):
            return wrap(None, 401, "invalid or missing API key")
        st = service.stats()
        return wrap({"jobs": {"total": st["submitted"], "queued": st["queued"], "running": st["processing"],
                              "succeeded": st["completed"], "failed": st["failed"]},
                     "queue_size": st["queued"], "queue_maxsize": st["max_queue"],
                     "avg_job_seconds": st["avg_job_seconds"]})

    @app.post("/release_task")
    async def release_task(request: Request):
        if not _authorized(request, api_key):
            return wrap(None, 401, "invalid or missing API key")
        refusal = _refusal(service)
        if refusal:
            return wrap(None, *refusal)
        try:
            body = await request.json()
            req = GenerationRequest.from_fields(body.get("lyrics"), body.get("prompt") or body.get("caption"),
                                                body.get("audio_duration"), body.get("seed", 0))
            job = service.submit(req, request.headers.get("idempotency-key"))
        except (ValueError, AttributeError) as e:
            return wrap(None, 422, str(e))
        except QueueFullError as e:
            return wrap(None, 429, str(e))
        return wrap({"task_id": job.id, "status": "queued", "queue_position": service.position(job.id)})

    @app.post("/query_result")
    async def query_result(request: Request):
        if not _authorized(request, api_key):
            return wrap(None, 401, "invalid or missing API key")
        try:
            ids = (await request.json()).get("task_id_list")
        except (ValueError, AttributeError):
            ids = None
        if not isinstance(ids, list):
            return wrap(None, 422, "task_id_list must be a list of task ids")
        out = []
        for tid in ids:
            job = service.get(str(tid))
            if job is None:
                continue  # as the real server: an unknown task is simply not in the answer
            code = {"completed": 1, "failed": 2}.get(job.status, 0)
            result = None
            if code == 1:
                result = json.dumps([{"file": f"/v1/audio?path={job.id}.wav", "status": 1,
                                      "create_time": job.created_at,
                                      "metas": {"duration": job.request["duration_s"], "seed": job.request["seed"]}}])
            out.append({"task_id": job.id, "status": code, "result": result, "error": job.error,
                        "queue_position": service.position(job.id), "create_time": job.created_at,
                        "start_time": job.started_at, "end_time": job.finished_at,
                        "progress_text": {"queued": "Waiting in queue", "processing": "Generating"}.get(job.status, "")})
        return wrap(out)

    @app.get("/v1/audio")
    def audio(request: Request, path: str):
        if not _authorized(request, api_key):
            return wrap(None, 401, "invalid or missing API key")
        return _serve_file(service, path)


def _storage_route(app, service: Service) -> None:
    @app.get("/storage/{name}")
    def storage(name: str):
        return _serve_file(service, name)


def _serve_file(service: Service, name: str):
    """The WAV of a finished job, named ``ID.wav`` (never a path: nothing outside the store)."""
    job = service.get(name[:-4]) if name.endswith(".wav") else None
    if job is None or job.path is None:
        return JSONResponse({"detail": f"{name} not found"}, status_code=404)
    with open(job.path, "rb") as f:
        data = f.read()
    length = {"content-length": str(len(data))}
    if service.fault_name == "corrupt_audio":
        return Response(b"<html><body><h1>502 Bad Gateway</h1></body></html>", media_type="audio/wav")
    if service.fault_name == "truncated_download":
        async def cut():
            yield data[: int(len(data) * 0.6)]
        return StreamingResponse(cut(), media_type="audio/wav", headers=length)
    if service.fault_name == "slow_download":
        async def trickle():
            for i in range(0, len(data), 16384):
                yield data[i: i + 16384]
                await asyncio.sleep(0.5)
        return StreamingResponse(trickle(), media_type="audio/wav", headers=length)
    return Response(data, media_type="audio/wav")
