"""Every service fault of the reference service, served for real, is classified by the probe
with the error class the fault list names."""

from __future__ import annotations

import pytest

from audioqa_pipeline.service.faults import SERVICE_FAULTS
from qa.probe.errors import ERROR_CLASSES, HINTS
from tests.conftest import run_cli
from tests.probe.conftest import deadlines, probe, serve

pytestmark = pytest.mark.slow


def test_list_faults_names_each_fault_with_a_contract_error_class():
    import json

    r = run_cli("serve", "--list-faults", "--json", "-")
    assert r.returncode == 0, r.stderr
    faults = json.loads(r.stdout)["faults"]
    assert [f["name"] for f in faults] == list(SERVICE_FAULTS)
    for f in faults:
        assert f["error_class"] in ERROR_CLASSES and f["error_class"] in HINTS
        assert f["description"]
    # the faults cover the vocabulary that a service can cause (connect_error needs no server;
    # timeout_queue is a slow queue, shown by the concurrency test's deadlines)
    covered = {f["error_class"] for f in faults}
    assert set(ERROR_CLASSES) - covered == {"connect_error", "timeout_queue", "audio_other"}


@pytest.mark.parametrize("fault", list(SERVICE_FAULTS))
def test_fault_is_classified(tmp_path, fault):
    expected = SERVICE_FAULTS[fault].error_class
    processing = 4.0 if fault == "hang_processing" else 60.0
    with serve("--fault", fault) as url:
        rc, item = probe(tmp_path, url, "--adapter", "diffrhythm", *deadlines(processing))
    assert rc == 1
    assert item["status"] == "fail"
    assert item["error_class"] == expected, item["checks"][:2]
    failing = {c["id"] for c in item["checks"] if c["status"] == "fail"}
    if expected in ("not_ready",):
        assert failing == {"service_ready"}
        assert "degraded" in item["checks"][0]["message"]
        assert item["counts"]["runs"] == 0  # nothing submitted
        return
    job = next(c for c in item["checks"] if c["id"] in ("service_job", "service_ready") and c["status"] == "fail")
    assert expected in job["message"]
    if expected == "http_5xx":
        assert "model worker process died" in job["message"]  # the server's own words
    if expected == "job_failed":
        assert "CUDA error" in job["message"]
    if expected in ("rate_limited", "queue_full"):
        assert item["counts"]["refusals"] >= 2  # Retry-After honoured, retried until the deadline
    if expected.startswith("audio_"):
        assert item["phases"]["verify_s"] is not None
    checks = {c["id"]: c for c in item["checks"]}
    if expected == "audio_silent":
        assert checks["not_silent"]["status"] == "fail"
    if expected == "audio_contract":
        c = checks["sample_rate"]
        assert c["status"] == "fail" and c["value"] == 48000 and c["threshold"] == 44100
    if expected == "audio_nan":
        assert checks["finite"]["status"] == "fail" and checks["finite"]["value"] >= 4410
    if expected == "audio_clipped":
        c = checks["clipping"]
        assert c["status"] == "fail" and c["value"] > c["threshold"]
    if expected == "audio_noise":
        c = checks["noise_like"]
        assert c["status"] == "fail" and c["value"] > c["threshold"]


def test_connect_error_when_nothing_listens(tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # a port nobody listens on
    rc, item = probe(tmp_path, f"http://127.0.0.1:{port}", "--adapter", "diffrhythm")
    assert rc == 1 and item["error_class"] == "connect_error"
    assert f"127.0.0.1:{port}" in item["checks"][0]["message"]


def test_acestep_job_lost_when_the_store_forgets_the_task(tmp_path):
    with serve("--fault", "job_lost", api="acestep") as url:
        rc, item = probe(tmp_path, url, "--adapter", "acestep", *deadlines())
    assert rc == 1 and item["error_class"] == "job_lost"
    assert "not in the answer" in item["checks"][1]["message"]
