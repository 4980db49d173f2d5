"""``audio-qa doctor`` as a user runs it: a real subprocess on this machine."""

import json
import shutil
import subprocess

import pytest

from conftest import run_cli


def test_clean_machine_every_backend_passes(tmp_path):
    r = run_cli("doctor", "--output-dir", str(tmp_path), "--json", "-", timeout=120)
    rep = json.loads(r.stdout)
    assert r.returncode == 0, r.stderr
    items = {i["path"]: i for i in rep["items"]}
    assert {c["id"] for i in rep["items"] for c in i["checks"]} == {
        "backend_available", "save_roundtrip", "save_timeout", "output_dir"}
    for name in ("soundfile", "scipy", "torchaudio", "ffmpeg", "sox"):
        checks = {c["id"]: c["status"] for c in items[name]["checks"]}
        assert checks["backend_available"] == "pass" and checks["save_timeout"] == "pass", name
    for name in ("soundfile", "scipy", "ffmpeg", "sox"):
        assert all(f["outcome"] == "ok" for f in items[name]["formats"]), name
    assert items[str(tmp_path)]["checks"][0]["status"] == "pass"
    assert "int16 tensor into a +-1 square wave" in rep["diagnosis"]
    assert rep["seconds"] < 20
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("chattr") is None, reason="chattr not available")
def test_read_only_output_dir_exit_2(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["chattr", "+i", str(ro)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i unsupported here; root bypasses chmod")
    try:
        r = run_cli("doctor", "--output-dir", str(ro), "--backends", "soundfile", "--formats", "wav")
    finally:
        subprocess.run(["chattr", "-i", str(ro)], check=True)
    assert r.returncode == 2
    assert f"{ro} cannot be written: PermissionError: Operation not permitted" in r.stdout
    assert "every save there will fail" in r.stdout
