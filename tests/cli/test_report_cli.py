"""``audio-qa report`` and the --html / --junit options of the other commands (real subprocesses)."""

from __future__ import annotations

import json

import junitparser
from bs4 import BeautifulSoup

from tests.conftest import ROOT, run_cli
from tests.reports.sample_results import HOSTILE_NAME, full_results


def test_report_command_writes_html_and_junit_and_exits_by_status(tmp_path):
    root = tmp_path / "results"
    data = full_results(root)
    res = root / "results.json"
    res.write_text(json.dumps(data))
    html, xml = tmp_path / "r.html", tmp_path / "r.xml"
    p = run_cli("report", str(res), "--html", str(html), "--junit", str(xml), cwd=tmp_path)
    assert p.returncode == 1, p.stderr  # the results hold failures
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html5lib")
    # relative paths resolved from the results file's folder: the waveform is drawn
    assert soup.select_one("#item-0 figure.waveform svg") is not None
    assert soup.select_one("#item-0 h3.path").get_text() == HOSTILE_NAME
    doc = junitparser.JUnitXml.fromfile(str(xml))
    assert doc.tests == 16 and doc.failures == 5


def test_report_command_bad_inputs_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    p = run_cli("report", str(bad), "--html", str(tmp_path / "x.html"))
    assert p.returncode == 2
    assert f"results {bad}: not JSON (Expecting property name enclosed in double quotes at line 1 column 2)" in p.stderr
    other = tmp_path / "other.json"
    other.write_text('{"schema": "something/2"}')
    p = run_cli("report", str(other), "--junit", str(tmp_path / "x.xml"))
    assert p.returncode == 2 and "schema is 'something/2', expected 'audio-qa.report/1'" in p.stderr
    p = run_cli("report", str(other))
    assert p.returncode == 2 and "nothing to write: give --html FILE and/or --junit FILE" in p.stderr
    p = run_cli("report", str(tmp_path / "missing.json"), "--html", str(tmp_path / "no" / "x.html"))
    assert p.returncode == 2 and "directory" in p.stderr and "does not exist" in p.stderr


def test_check_command_html_and_junit(tmp_path):
    html, xml = tmp_path / "c.html", tmp_path / "c.xml"
    wav = ROOT / "fixtures" / "tones" / "tone_997_-20dBFS.wav"
    p = run_cli("check", str(wav), "--html", str(html), "--junit", str(xml), "--json", "-", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html5lib")
    rows = soup.select("#item-0 tr.check")
    assert sorted(r["data-check"] for r in rows) == sorted(c["id"] for c in data["items"][0]["checks"])
    doc = junitparser.JUnitXml.fromfile(str(xml))
    assert doc.tests == len(data["items"][0]["checks"]) and doc.failures == 0
    assert soup.select_one("#item-0 audio")["src"].startswith("data:audio/wav;base64,")


def test_gate_command_html_and_junit_show_the_deltas(tmp_path):
    import shutil

    shutil.copy(ROOT / "fixtures" / "tones" / "tone_997_-20dBFS.wav", tmp_path / "song.wav")
    assert run_cli("check", "song.wav", "--json", "r.json", cwd=tmp_path).returncode == 0
    r = run_cli("gate", "r.json", "--baseline", "base.json", "--update", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run_cli("gate", "r.json", "--baseline", "base.json", "--html", "g.html", "--junit", "g.xml",
                "--json", "g.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = json.loads((tmp_path / "g.json").read_text())["gate"]["rows"]
    soup = BeautifulSoup((tmp_path / "g.html").read_text(encoding="utf-8"), "html5lib")
    html_rows = soup.select("#gate table.gate tbody tr")
    assert len(html_rows) == len(rows) > 0
    assert all("status-pass" in tr["class"] for tr in html_rows)  # unchanged against itself
    doc = junitparser.JUnitXml.fromfile(str(tmp_path / "g.xml"))
    gate = [s for s in doc if s.name == "audio-qa.gate"][0]
    assert gate.tests == len(rows) and gate.failures == 0
