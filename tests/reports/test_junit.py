"""JUnit XML, read back with junitparser (the parser CI tools' plugins use)."""

from __future__ import annotations

import junitparser
import pytest

from qa.reports import render_junit, write_junit
from tests.reports.sample_results import HOSTILE_NAME, full_results


@pytest.fixture
def xml(tmp_path):
    results = full_results(tmp_path / "r")
    path = tmp_path / "junit.xml"
    write_junit(results, path)
    return junitparser.JUnitXml.fromfile(str(path)), results


def cases(xml):
    return {(suite.name, case.classname, case.name): case for suite in xml for case in suite}


def test_one_case_per_item_and_check(xml):
    doc, results = xml
    got = cases(doc)
    expected_checks = sum(len(i["checks"]) or 1 for i in results["items"])
    stage_checks = sum(len(s["checks"]) for s in results["items"][1]["stages"])
    gate_rows = len(results["gate"]["rows"])
    assert len(got) == expected_checks + stage_checks + gate_rows == 13 + 1 + 2
    assert [s.name for s in doc] == ["audio-qa.file", "audio-qa.run", "audio-qa.comparison",
                                    "audio-qa.roundtrip", "audio-qa.backend", "audio-qa.gate"]


def test_failures_carry_the_message(xml):
    doc, _ = xml
    got = cases(doc)
    clip = got[("audio-qa.file", f"file.{HOSTILE_NAME}", "clipping")]
    (res,) = clip.result
    assert isinstance(res, junitparser.Failure)
    assert res.message == "0.1% of samples sit at full scale (longest run 100 samples)"
    assert res.text == ("0.1% of samples sit at full scale (longest run 100 samples)\n"
                        "value: 0.00104 fraction, threshold: 0.001 fraction\n"
                        "hint: reduce gain before the int16 conversion")
    assert got[("audio-qa.file", f"file.{HOSTILE_NAME}", "readable")].is_passed
    stage = got[("audio-qa.run", "run.run_out.wav", "vae_decode/stage_not_silent")]
    assert stage.result[0].message == "vae_decode output is all zeros"
    gate = got[("audio-qa.gate", "gate", f"{HOSTILE_NAME}/rms_dbfs")]
    assert gate.result[0].message == "baseline=-12.0, current=-9.03, delta=2.97, verdict=fail"
    assert got[("audio-qa.comparison", "comparison.deg.wav", "item")].is_passed
    assert got[("audio-qa.roundtrip", "roundtrip.song.wav[mp3:64]", "snr")].system_out == "WARN: SNR 12.0"


def test_suite_counts(xml):
    doc, _ = xml
    by_name = {s.name: s for s in doc}
    assert (by_name["audio-qa.file"].tests, by_name["audio-qa.file"].failures) == (3, 1)
    assert (by_name["audio-qa.backend"].tests, by_name["audio-qa.backend"].failures) == (4, 1)
    assert doc.tests == 16 and doc.failures == 5 and doc.errors == 0


def test_warn_passes_unless_strict(tmp_path):
    results = full_results(tmp_path / "r")
    key = ("audio-qa.file", f"file.{HOSTILE_NAME}", "dc_offset")
    for strict, failed in ((False, False), (True, True)):
        doc = junitparser.JUnitXml.fromstring(render_junit(results, strict=strict).split("\n", 1)[1])
        case = cases(doc)[key]
        assert (not case.is_passed) is failed
        if failed:
            assert case.result[0].message == "DC <offset> high"
        else:
            assert case.system_out == "WARN: DC <offset> high\nvalue: 0.012 full_scale, threshold: 0.01 full_scale"


def test_control_characters_in_names_stay_valid_xml(tmp_path):
    results = {"schema": "audio-qa.report/1", "status": "error", "items": [
        {"kind": "file", "path": "bad\x00name\x1b.wav", "status": "error",
         "checks": [{"id": "readable", "status": "error", "message": "boom \x07 ]]> &"}]}]}
    path = tmp_path / "j.xml"
    write_junit(results, path)
    doc = junitparser.JUnitXml.fromfile(str(path))
    (case,) = [c for s in doc for c in s]
    assert case.classname == "file.bad\ufffdname\ufffd.wav"
    assert isinstance(case.result[0], junitparser.Error)
    assert case.result[0].message == "boom \ufffd ]]> &"
