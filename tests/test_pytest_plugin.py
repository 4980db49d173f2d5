"""The pytest plugin, run by pytest itself (pytester, in a subprocess so the plugin's session
state is the inner run's own): assert_audio's table, report options, the example suite."""

import json
import shutil

import pytest

from tests.conftest import ROOT

pytest_plugins = ["pytester"]



@pytest.fixture
def run(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))

    def go(*args):
        return pytester.runpytest_subprocess("-p", "qa.pytest_plugin", "-p", "no:cacheprovider", *args)

    return go


# Real music (the 4 s fixture song, mastered to -14 LUFS), so that every check applies.
SONG = ROOT / "fixtures" / "audio" / "song_short_48k.wav"

SUITE = '''
import numpy as np
import soundfile as sf
import pytest
from qa.pytest_plugin import assert_audio

song, SR = sf.read(r"%s", always_2d=True)
stereo = song.T

def test_clean():
    item = assert_audio(stereo, SR, expect_channels=2)
    assert item.status == "pass"

def test_clipped():
    assert_audio(np.clip(8 * stereo, -1, 1), SR)

def test_clipped_file(tmp_path):
    p = tmp_path / "loud.wav"
    sf.write(p, np.clip(8 * stereo, -1, 1).T, SR, subtype="PCM_16")
    assert_audio(p)

def test_needs_rate():
    with pytest.raises(TypeError, match="a ndarray needs sample_rate=HZ"):
        assert_audio(stereo)
''' % SONG


def test_assert_audio_fails_with_the_check_table(run, pytester):
    pytester.makepyfile(test_suite=SUITE)
    r = run("-q")
    r.assert_outcomes(passed=2, failed=2)
    out = r.stdout.str()
    # the table: header, one row per check, the hint of the failing one
    assert "audio-qa: test_suite.py::test_clipped::audio1 -> FAIL (48000 Hz, 2 ch, 4.00 s)" in out
    assert "status  check " in out
    row = [ln for ln in out.splitlines() if "FAIL" in ln and " clipping " in ln][0]
    assert "0.001 fraction" in row  # the default profile's fail_fraction as the threshold
    assert "hint: " in out
    pass_row = [ln for ln in out.splitlines() if "PASS" in ln and " not_silent " in ln]
    assert pass_row, "passing checks are listed too"
    assert "/loud.wav -> FAIL" in out


def test_session_report_json(run, pytester):
    pytester.makepyfile(test_suite=SUITE)
    r = run("-q", "--audio-qa-json", "audio.json")
    r.assert_outcomes(passed=2, failed=2)
    data = json.loads((pytester.path / "audio.json").read_text())
    assert data["schema"] == "audio-qa.report/1" and data["status"] == "fail"
    by_path = {i["path"]: i for i in data["items"]}
    assert by_path["test_suite.py::test_clean::audio1"]["status"] == "pass"
    assert by_path["test_suite.py::test_clean::audio1"]["channels"] == 2
    assert by_path["test_suite.py::test_clipped::audio1"]["status"] == "fail"
    assert [p for p in by_path if p.endswith("loud.wav")]
    assert "audio-qa json report: " in r.stdout.str()


def test_strict_and_profile_option(run, pytester):
    # the song with DC 0.02: dc_offset warns (warn_abs 0.01, fail_abs 0.03); under the podcast
    # profile (-16 LUFS +-1 warn, +-2 fail) the -14 LUFS song also only warns.
    pytester.makepyfile(test_dc='''
import numpy as np
import soundfile as sf
from qa.pytest_plugin import assert_audio
song, SR = sf.read(r"%s", always_2d=True)
x = song.T + 0.02
def test_lax():
    assert assert_audio(x, SR).check("dc_offset").status == "warn"
def test_strict():
    assert_audio(x, SR, strict=True)
''' % SONG)
    r = run("-q", "--audio-qa-profile", "podcast")
    r.assert_outcomes(passed=1, failed=1)
    assert "WARN    dc_offset" in r.stdout.str()
    bad = run("-q", "--audio-qa-profile", "nosuch")
    assert "unknown profile 'nosuch'" in bad.stdout.str()


def test_example_suite(run, pytester):
    shutil.copy(ROOT / "examples" / "test_my_pipeline.py", pytester.path)
    r = run("-q", "--audio-qa-json", "ex.json")
    r.assert_outcomes(passed=3)
    data = json.loads((pytester.path / "ex.json").read_text())
    assert {i["status"] for i in data["items"]} == {"pass"}


def test_audio_probe_names_the_bad_stage(run, pytester):
    pytester.makepyfile(test_probe='''
import numpy as np
def test_nan_stage(audio_probe):
    x = np.zeros((2, 44100), dtype=np.float32); x[0, 100] = np.nan
    with audio_probe.stage("decode") as s:
        s.record(x)
''')
    r = run("-q")
    r.assert_outcomes(passed=1, errors=1)  # the body passes; the probe fails it at teardown
    assert "first bad stage: decode" in r.stdout.str()
