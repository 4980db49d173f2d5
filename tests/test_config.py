"""Config that cannot be silently wrong: every key at every level is validated, and the
error names the key, where it is and the keys that exist."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from junitparser import JUnitXml

from qa.config import ConfigError, build_config
from qa.profiles import ProfileError, load_profile
from tests.conftest import ROOT, run_cli


def _config(tmp_path, text: str) -> str:
    p = tmp_path / "qa.toml"
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("text,expected", [
    ("[thresholds.cliping]\nfail_fraction = 0.01\n",
     "qa.toml: thresholds: unknown check id 'cliping'; checks with thresholds: "),
    ("[thresholds.clipping]\nfail_fracton = 0.01\n",
     "qa.toml: thresholds.clipping: unknown threshold 'fail_fracton'; clipping has: "
     "fail_fraction, warn_runs"),
    ("[thresholds.clipping]\nfail_fraction = \"0.01\"\n",
     "qa.toml: thresholds.clipping.fail_fraction must be a number (like 0.001), got '0.01'"),
    ("[profiles.mine]\nbase = \"streaming\"\ndescrption = \"typo\"\n",
     "qa.toml: profiles.mine: unknown key 'descrption'; a profile holds description, base, kind "
     "and threshold tables of: "),
    ("[profiles.mine]\nbase = \"streaming\"\n[profiles.mine.loudness_target]\ntarget_lfs = -12.0\n",
     "qa.toml: profiles.mine.loudness_target: unknown threshold 'target_lfs'; loudness_target has: "
     "fail_below_lufs, fail_lu, target_lufs, warn_lu"),
    ("[profiles.mine]\nkind = \"master\"\n",
     "qa.toml: profiles.mine.kind must be one of faults, delivery, got 'master'"),
])
def test_every_level_of_a_config_is_validated(tmp_path, text, expected):
    path = _config(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        build_config(path, cwd=str(tmp_path))
    assert expected in str(e.value)
    assert str(e.value).startswith(path)


def test_library_overrides_are_validated_too():
    with pytest.raises(ProfileError, match=r"thresholds\.dc_offset: unknown threshold 'fail'; "
                                           r"dc_offset has: fail_abs, warn_abs"):
        load_profile(overrides={"dc_offset": {"fail": 0.1}})
    p = load_profile("mine", user_profiles={"mine": {"base": "broadcast",
                                                     "loudness_target": {"target_lufs": -20.0}}})
    assert (p.kind, p.get("loudness_target", "target_lufs"), p.get("loudness_target", "fail_lu")) == (
        "delivery", -20.0, 1.0)


def test_a_bad_config_is_exit_2_with_the_message(tmp_path):
    sf.write(tmp_path / "a.wav", np.zeros(4800), 48000)
    path = _config(tmp_path, "[thresholds.dropuot]\nfail_s = 2.0\n")
    r = run_cli("check", str(tmp_path / "a.wav"), "--config", path)
    assert r.returncode == 2 and "unknown check id 'dropuot'" in r.stderr


def test_strict_in_the_config_applies_to_junit_as_to_the_exit_status(tmp_path):
    # The fixture song 12 dB down warns under the default profile (far from -14 LUFS, nothing
    # broken).
    x, sr = sf.read(ROOT / "fixtures" / "audio" / "song_pop_10s.flac")
    sf.write(tmp_path / "quiet.wav", x * 10 ** (-12 / 20), sr, subtype="PCM_24")
    junit = tmp_path / "j.xml"
    r = run_cli("check", "quiet.wav", "--junit", str(junit), "--json", "-", cwd=tmp_path)
    assert r.returncode == 0
    assert json.loads(r.stdout)["items"][0]["status"] == "warn"
    cases = {c.name: c for s in JUnitXml.fromfile(str(junit)) for c in s}
    assert cases["loudness_target"].is_passed
    (tmp_path / "pyproject.toml").write_text("[tool.audio-qa]\nstrict = true\n")
    r = run_cli("check", "quiet.wav", "--junit", str(junit), cwd=tmp_path)
    assert r.returncode == 1
    cases = {c.name: c for s in JUnitXml.fromfile(str(junit)) for c in s}
    assert not cases["loudness_target"].is_passed
    assert cases["loudness_target"].result[0].type == "warn"
