"""Outputs never replace inputs, each other, or a file the user owns (issue 15)."""

import json
import os

import numpy as np
import pytest
import soundfile as sf

from audioqa_pipeline.run import LEDGER, output_path, record_output
from tests.conftest import run_cli, sine


@pytest.fixture
def wav(tmp_path):
    p = tmp_path / "a.wav"
    sf.write(p, 0.25 * sine(440, 16000, 1.0)[0], 16000, subtype="PCM_16")
    return p


def _unchanged(path, before):
    assert path.read_bytes() == before


def test_json_naming_the_input_is_refused_and_the_audio_kept(wav):
    before = wav.read_bytes()
    r = run_cli("check", str(wav), "--json", str(wav))
    assert r.returncode == 2
    assert f"--json {wav}: is an input of this command" in r.stderr
    _unchanged(wav, before)


def test_an_output_that_is_a_hard_link_of_an_input_is_refused(wav, tmp_path):
    link = tmp_path / "other_name.json"
    os.link(wav, link)
    before = wav.read_bytes()
    r = run_cli("measure", str(wav), "--html", str(link))
    assert r.returncode == 2 and "is an input" in r.stderr
    _unchanged(wav, before)


def test_an_output_inside_a_walked_folder_naming_a_file_of_it_is_refused(wav, tmp_path):
    before = wav.read_bytes()
    r = run_cli("check", str(tmp_path), "--junit", str(wav))
    assert r.returncode == 2 and "is an input" in r.stderr
    _unchanged(wav, before)


def test_report_html_over_its_results_is_refused(wav, tmp_path):
    res = tmp_path / "res.json"
    assert run_cli("check", str(wav), "--json", str(res)).returncode in (0, 1)
    before = res.read_bytes()
    r = run_cli("report", str(res), "--html", str(res))
    assert r.returncode == 2 and f"--html {res}: is an input" in r.stderr
    _unchanged(res, before)


def test_two_outputs_naming_one_file_are_refused(wav, tmp_path):
    r = run_cli("check", str(wav), "--json", str(tmp_path / "r"), "--junit", str(tmp_path / "r"))
    assert r.returncode == 2
    assert "is also the --json output" in r.stderr
    assert not (tmp_path / "r").exists()


def test_json_is_not_written_when_a_later_output_is_invalid(wav, tmp_path):
    out = tmp_path / "r.json"
    r = run_cli("check", str(wav), "--json", str(out), "--html", str(tmp_path / "no" / "r.html"))
    assert r.returncode == 2 and "does not exist" in r.stderr
    assert not out.exists()
    os.mkdir(tmp_path / "adir")
    r = run_cli("check", str(wav), "--json", str(out), "--junit", str(tmp_path / "adir"))
    assert r.returncode == 2 and "is a directory" in r.stderr
    assert not out.exists()


def test_outputs_of_one_command_are_all_written(wav, tmp_path):
    outs = [tmp_path / n for n in ("r.json", "r.html", "r.xml")]
    r = run_cli("check", str(wav), "--json", str(outs[0]), "--html", str(outs[1]),
                "--junit", str(outs[2]))
    assert r.returncode in (0, 1), r.stderr
    assert json.loads(outs[0].read_text())["items"][0]["path"] == str(wav)
    assert "<html" in outs[1].read_text().lower() and "<testsuite" in outs[2].read_text()
    assert sorted(os.listdir(tmp_path)) == ["a.wav", "r.html", "r.json", "r.xml"]  # no temporaries


def test_run_output_beside_a_file_the_tool_did_not_make(tmp_path):
    mine = tmp_path / "pop_en_10s.wav"
    mine.write_bytes(b"the user's own song")
    notes: list[str] = []
    path = output_path(str(tmp_path), "pop_en_10s", notes)
    assert path == str(tmp_path / "pop_en_10s-2.wav")
    assert "was not written by audio-qa" in notes[0] and path in notes[0]
    # A file the tool wrote is replaced by the next run, not multiplied.
    sf.write(path, np.zeros(100), 8000)
    record_output(path)
    assert (tmp_path / LEDGER).read_text() == "pop_en_10s-2.wav\n"
    assert output_path(str(tmp_path), "pop_en_10s", []) == path
    assert mine.read_bytes() == b"the user's own song"
    made = tmp_path / "fresh.wav"
    made.write_bytes(b"x")
    record_output(str(made))
    assert output_path(str(tmp_path), "fresh", []) == str(made)
