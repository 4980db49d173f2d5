"""The clean reference service through every adapter (a real uvicorn server on 127.0.0.1 in a
subprocess; the Gradio app through a real gradio_client), the command-line mode, and a bounded
concurrency run against a small queue."""

from __future__ import annotations

import math
import re
import sys
import time

import pytest

from tests.probe.conftest import deadlines, probe, serve

pytestmark = pytest.mark.slow


def _passes(item, runs):
    assert item["status"] == "pass", [c for c in item["checks"] if c["status"] != "pass"]
    assert item["error_class"] is None
    assert item["counts"]["runs"] == runs and item["counts"]["succeeded"] == runs
    assert item["metrics"]["success_rate"] == 1.0
    checks = {c["id"]: c for c in item["checks"]}
    assert checks["sample_rate"]["value"] == 44100  # the reference pipeline's rate, as requested
    assert checks["duration"]["status"] == "pass"
    assert item["sample_rate"] == 44100 and item["channels"] == 2 and item["frames"] == math.ceil(4 * 44100 / 2048) * 2048  # whole frames of hop 2048
    ph = item["phases"]
    assert set(ph) == {"submit_s", "queue_s", "processing_s", "download_s", "verify_s", "total_s"}
    assert all(v is not None and v >= 0 for v in ph.values())
    assert ph["total_s"] >= ph["processing_s"] + ph["download_s"] + ph["verify_s"]


@pytest.fixture(scope="module")
def diffrhythm_url():
    with serve() as url:
        yield url


def test_clean_diffrhythm_five_runs_with_percentiles_and_prometheus(tmp_path, diffrhythm_url):
    prom = tmp_path / "probe.prom"
    rc, item = probe(tmp_path, diffrhythm_url, "--adapter", "diffrhythm", "--runs", "5", "--prom", str(prom))
    assert rc == 0
    _passes(item, 5)
    m = item["metrics"]
    totals = sorted(r["phases"]["total_s"] for r in item["runs"])
    assert m["total_s_p50"] == pytest.approx(totals[2])  # the median of 5
    assert totals[0] <= m["total_s_p50"] <= m["total_s_p90"] <= m["total_s_p95"] <= m["total_s_p99"] <= totals[-1]
    assert all(r["phase_source"] == {"queue_s": "server", "processing_s": "server"} for r in item["runs"])
    assert all(r["download"]["redirects"] == 1 for r in item["runs"])  # 307 to /storage, followed
    assert all(r["download"]["content_length"] == r["download"]["bytes"] for r in item["runs"])
    text = prom.read_text()
    assert 'audio_qa_probe_runs_total{target="%s",adapter="diffrhythm"} 5' % diffrhythm_url in text
    assert 'audio_qa_probe_success_ratio{target="%s",adapter="diffrhythm"} 1' % diffrhythm_url in text
    assert not re.search(r"[0-9a-f]{32}", text)  # no job ids (the service's are 32 hex digits)


def test_generic_adapter_from_toml_with_a_data_uri(tmp_path, diffrhythm_url):
    spec = tmp_path / "spec.toml"
    spec.write_text('''
[health]
path = "/api/v1/health"
ready = "status"
ready_values = ["healthy"]
[submit]
path = "/api/v1/generate"
body = { lyrics = "{lyrics}", style_prompt = "{style}", audio_length = "{duration}", seed = "{seed}" }
job_id = "job_id"
[poll]
path = "/api/v1/status/{job_id}"
status = "status"
queued = ["queued"]
processing = ["processing"]
done = ["completed"]
failed = ["failed"]
position = "queue_position"
audio = "download_url"
created_at = "created_at"
started_at = "started_at"
finished_at = "completed_at"
[fetch]
path = "/api/v1/result/{job_id}"
audio = "audio"
''')
    rc, item = probe(tmp_path, diffrhythm_url, "--adapter", "generic", "--spec", str(spec), "--label", "generic-svc")
    assert rc == 0 and item["path"] == "generic-svc" and item["url"] == diffrhythm_url
    _passes(item, 1)
    assert item["runs"][0]["download"]["data_uri"] is True


def test_command_mode_checks_the_files_a_command_wrote(tmp_path):
    req = tmp_path / "req.toml"
    req.write_text("duration_s = 10.0\n")
    cmd = f"{sys.executable} -m qa run --scenario pop_en_10s --steps 4 --out {{out_dir}}"
    rc, item = probe(tmp_path, "--command", cmd, "--request", str(req))
    assert rc == 0, item["checks"]
    assert item["path"] == cmd and item["counts"]["succeeded"] == 1
    assert item["runs"][0]["download"]["files"] == ["pop_en_10s.wav"]

    rc, item = probe(tmp_path, "--command", f"{sys.executable} -c 'import time; time.sleep(60)'",
                     "--processing-timeout", "1.5")
    assert rc == 1 and item["error_class"] == "timeout_processing"
    assert item["phases"]["total_s"] < 10  # killed at the deadline, not after the sleep
    rc, item = probe(tmp_path, "--command", f"{sys.executable} -c 'import sys; sys.exit(\"CUDA out of memory\")'")
    assert item["error_class"] == "job_failed" and "CUDA out of memory" in item["checks"][1]["message"]


def test_clean_acestep_routes(tmp_path):
    with serve(api="acestep") as url:
        rc, item = probe(tmp_path, url, "--adapter", "acestep", "--runs", "2")
    assert rc == 0
    _passes(item, 2)
    assert item["runs"][0]["phase_source"]["processing_s"] == "server"


def test_clean_gradio_app_through_gradio_client(tmp_path):
    with serve(api="gradio") as url:
        rc, item = probe(tmp_path, url, "--adapter", "gradio", "--runs", "2")
    assert rc == 0
    _passes(item, 2)
    assert item["runs"][0]["phase_source"]["processing_s"] == "client"  # gradio gives no server times


def test_bounded_concurrency_grows_the_queue_counts_429s_and_stops(tmp_path):
    req = tmp_path / "short.toml"
    req.write_text("duration_s = 2.0\n")  # 8 songs on one CPU worker fit the minute
    with serve("--max-queue", "2", "--steps", "2") as url:
        t0 = time.monotonic()
        # every run is bounded: 30 s to get in, 20 s of processing, 5 s of download
        rc, item = probe(tmp_path, url, "--adapter", "diffrhythm", "--runs", "8", "--concurrency", "8",
                         "--request", str(req), "--queue-timeout", "30", "--processing-timeout", "20",
                         "--stuck-after", "25", "--download-timeout", "5", "--seed", "1")
        elapsed = time.monotonic() - t0
    c = item["counts"]
    assert c["runs"] == 8
    assert c["http_429"] >= 1 and c["refusals"] == c["http_429"]  # the full queue answered 429
    assert c["max_queue_position"] == 2  # the queue grew to its bound
    assert c["succeeded"] + sum(c["errors"].values()) == 8
    assert set(c["errors"]) <= {"rate_limited"}  # a run that never got in says so; none hung
    assert c["succeeded"] >= 4
    assert elapsed < 60
