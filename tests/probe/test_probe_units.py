"""The probe's pieces on exact inputs: backoff bounds, Retry-After, data URIs, JSON paths,
percentiles, the primary error class, Prometheus counters across invocations, the gate's
direction-aware latency tolerances and the HTML/JUnit views of a probe item."""

from __future__ import annotations

import base64
import email.utils
import random
import time

import pytest

from qa.probe.adapters.base import dig, epoch
from qa.probe.download import decode_data_uri
from qa.probe.errors import ProbeError
from qa.probe.item import percentiles, primary_error
from qa.probe.poll import Backoff
from qa.probe.runner import RunRecord


def test_backoff_grows_to_its_cap_with_equal_jitter():
    b = Backoff(initial=0.2, factor=2.0, maximum=1.0, rng=random.Random(1))
    delays = [b.next() for _ in range(6)]
    nominal = [0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    for d, n in zip(delays, nominal):
        assert n / 2 <= d <= n  # half fixed, half uniform
    b.reset()
    assert b.next() <= 0.2


def test_retry_after_seconds_and_http_date():
    import httpx

    from qa.probe.http import refusal, retry_after

    r = httpx.Response(429, headers={"Retry-After": "7"}, json={"detail": "slow down"})
    assert retry_after(r) == 7.0
    e = refusal(r, "POST /x")
    assert (e.error_class, e.retry_after, e.server_message) == ("rate_limited", 7.0, "slow down")
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_after(httpx.Response(503, headers={"Retry-After": when})) <= 30
    assert retry_after(httpx.Response(503)) is None


@pytest.mark.parametrize("code,body,cls", [
    (401, {"detail": "bad key"}, "http_4xx_auth"), (403, {}, "http_4xx_auth"),
    (503, {"detail": "queue is full"}, "queue_full"), (409, {"error": "worker busy"}, "queue_full"),
    (503, {"detail": "upstream down"}, "http_5xx"), (422, {"detail": "bad lyrics"}, "bad_request"),
    (500, {"detail": "boom"}, "http_5xx"),
])
def test_status_codes_map_to_error_classes(code, body, cls):
    import httpx

    from qa.probe.http import refusal

    assert refusal(httpx.Response(code, json=body), "GET /").error_class == cls


def test_data_uri_base64_and_damaged():
    raw = bytes(range(256))
    data, mime = decode_data_uri("data:audio/wav;base64," + base64.b64encode(raw).decode())
    assert data == raw and mime == "audio/wav"
    with pytest.raises(ProbeError) as e:
        decode_data_uri("data:audio/wav;base64,@@@")
    assert e.value.error_class == "download_error"


def test_dig_walks_keys_indices_and_json_strings():
    entry = {"data": [{"status": 1, "result": '[{"file": "/v1/audio?path=a.wav"}]'}]}
    assert dig(entry, "data.0.result|json.0.file") == "/v1/audio?path=a.wav"
    assert dig(entry, "data.3.status") is None
    assert dig(entry, "data.0.missing") is None


def test_epoch_reads_iso_seconds_and_milliseconds():
    assert epoch("1970-01-01T00:01:00Z") == 60.0
    assert epoch(1_700_000_000_000) == 1_700_000_000.0
    assert epoch(12.5) == 12.5
    assert epoch("yesterday") is None


def test_percentiles_linear_between_order_statistics():
    p = percentiles([1.0, 2.0, 3.0, 4.0, 5.0])
    assert p == {"total_s_p50": 3.0, "total_s_p90": pytest.approx(4.6), "total_s_p95": pytest.approx(4.8),
                 "total_s_p99": pytest.approx(4.96)}
    assert percentiles([]) == dict.fromkeys(p)


def test_primary_error_is_the_most_frequent_then_the_earliest():
    recs = [RunRecord(0, "rate_limited"), RunRecord(1, None), RunRecord(2, "audio_silent"),
            RunRecord(3, "audio_silent"), RunRecord(4, "rate_limited")]
    assert primary_error(recs) == "rate_limited"
    assert primary_error([RunRecord(0, None)]) is None


def _item(**kw):
    it = {"path": "svc", "adapter": "diffrhythm", "error_class": None,
          "metrics": {"success_rate": 1.0, "total_s_p50": 3.0, "total_s_p90": 4.0, "total_s_p95": 4.5, "total_s_p99": 5.0},
          "phases": {"submit_s": 0.01, "total_s": 3.0}, "counts": {"runs": 5, "http_429": 2, "errors": {}}}
    it.update(kw)
    return it


def test_prometheus_counters_accumulate_across_invocations(tmp_path):
    from qa.probe.prom import write_prom

    f = tmp_path / "probe.prom"
    write_prom(f, [_item()])
    write_prom(f, [_item(error_class="audio_silent", counts={"runs": 1, "http_429": 0, "errors": {"audio_silent": 1}})])
    text = f.read_text()
    assert 'audio_qa_probe_runs_total{target="svc",adapter="diffrhythm"} 6' in text
    assert 'audio_qa_probe_http_429_total{target="svc",adapter="diffrhythm"} 2' in text
    assert 'audio_qa_probe_errors_total{target="svc",adapter="diffrhythm",error_class="audio_silent"} 1' in text
    assert 'audio_qa_probe_errors_total{target="svc",adapter="diffrhythm",error_class="job_lost"} 0' in text
    assert 'audio_qa_probe_up{target="svc",adapter="diffrhythm"} 0' in text
    assert 'audio_qa_probe_total_seconds{target="svc",adapter="diffrhythm",quantile="0.99"} 5' in text
    assert "# TYPE audio_qa_probe_runs_total counter" in text
    assert not list(tmp_path.glob(".*"))  # no temporaries left beside it


def _results(m):
    return {"schema": "audio-qa.report/1", "items": [{"kind": "probe", "path": "svc", "status": "pass",
                                                      "metrics": m, "checks": []}]}


def test_gate_latency_regresses_only_when_slower_and_success_rate_any_drop():
    from qa.baseline import snapshot
    from qa.gate import compare, tolerances_from_profile
    from qa.profiles import load_profile

    tols = tolerances_from_profile(load_profile())
    base = snapshot(_results({"success_rate": 1.0, "total_s_p50": 4.0, "total_s_p99": 8.0}))
    now = _results({"success_rate": 0.8, "total_s_p50": 12.0, "total_s_p99": 1.0})
    rows = {r.metric: r for r in compare(base, now, tols).rows}
    assert rows["success_rate"].verdict == "regressed" and rows["success_rate"].delta == pytest.approx(-0.2)
    assert rows["total_s_p50"].verdict == "regressed" and rows["total_s_p50"].tolerance == 5.0  # 8 s slower > 5 s
    assert rows["total_s_p99"].verdict == "unchanged"  # 7 s faster, within max(10, 8) s
    ok = compare(base, _results({"success_rate": 1.0, "total_s_p50": 8.9, "total_s_p99": 17.9}), tols)
    assert all(r.verdict == "unchanged" for r in ok.rows)


def test_html_shows_phases_and_verdict_and_junit_fails_the_job_check():
    from bs4 import BeautifulSoup

    from qa.reports import render_html, render_junit

    item = {**_item(error_class="audio_silent"), "kind": "probe", "status": "fail",
            "phases": {"submit_s": 0.012, "queue_s": 0.5, "processing_s": 2.25, "download_s": 0.03,
                       "verify_s": 0.4, "total_s": 3.2},
            "runs": [{"index": 0, "error_class": "audio_silent", "message": "not_silent: digital silence",
                      "phases": {"total_s": 3.2}, "phase_source": {"queue_s": "server", "processing_s": "server"}}],
            "checks": [{"id": "service_job", "status": "fail", "value": 1, "threshold": 0, "unit": "runs",
                        "message": "1 of 1 run(s) failed (audio_silent x1)"}]}
    results = {"schema": "audio-qa.report/1", "status": "fail", "items": [item]}
    soup = BeautifulSoup(render_html(results, figures=False), "html.parser")
    sec = soup.find(id="section-probe")
    assert "Service probes (1)" in sec.h2.text
    assert "error class audio_silent" in sec.find(class_="verdict").text
    rows = {tr["data-phase"]: [td.text for td in tr.find_all("td")] for tr in sec.select("tr[data-phase]")}
    assert rows["processing_s"] == ["processing_s", "2.25", "server"]
    assert rows["total_s"][1] == "3.2"
    xml = render_junit(results)
    assert 'classname="probe.svc" name="service_job"' in xml and "<failure" in xml


@pytest.mark.parametrize("argv,words", [
    (["probe"], "give a URL"),
    (["probe", "http://127.0.0.1:9"], "--adapter is required"),
    (["probe", "http://127.0.0.1:9", "--adapter", "generic"], "needs --spec FILE"),
    (["probe", "http://127.0.0.1:9", "--adapter", "diffrhythm", "--header", "no-colon"], "expected 'NAME: VALUE'"),
    (["probe", "--command", "true", "--request", "/nonexistent/req.toml"], "no such file"),
])
def test_usage_errors_exit_2_with_the_fix(capsys, argv, words):
    from qa.cli import main

    assert main(argv) == 2
    assert words in capsys.readouterr().err
