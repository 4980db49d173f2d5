"""``audio-qa doctor`` as a user runs it: a real subprocess on this machine."""

import json
import shutil
import subprocess

import pytest

from tests.conftest import needs, run_cli


@needs("ffmpeg", "sox", "ffmpeg-libs")
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
    # (no bound on the doctor's total time here: every save above finished "ok", inside its
    # timeout; how long the imports take is the machine's, and timed tests only measure load)
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


def _doctor_with_broken_torchcodec(tmp_path, *args):
    """The doctor with a TorchCodec that cannot load (as on a machine without a shared FFmpeg)."""
    import os
    import sys

    from tests.conftest import ROOT

    stub = tmp_path / "stub" / "torchcodec"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise RuntimeError('Could not load libtorchcodec (test stub)')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "stub"), str(ROOT)])}
    r = subprocess.run([sys.executable, "-m", "qa", "doctor", "--output-dir", str(tmp_path), "--backends",
                        "soundfile", "torchaudio", "--formats", "wav", "--json", "-", *args],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    rep = json.loads(r.stdout)
    return r, rep, {i["path"]: i for i in rep["items"]}


def test_broken_optional_backend_warns_with_the_fix(tmp_path):
    r, rep, items = _doctor_with_broken_torchcodec(tmp_path)
    assert r.returncode == 0, r.stderr
    ta = items["torchaudio"]
    avail = ta["checks"][0]
    assert ta["required"] is False and items["soundfile"]["required"] is True
    assert avail["status"] == "warn" and rep["status"] == "warn"
    assert avail["message"].startswith("optional backend torchaudio: torchaudio is installed but cannot be used")
    assert "shared FFmpeg" in avail["hint"] and "does not save through torchaudio" in avail["hint"]
    assert "Broken but optional" in rep["diagnosis"] and "torchaudio" in rep["diagnosis"]


def test_broken_required_backend_fails(tmp_path):
    r, rep, items = _doctor_with_broken_torchcodec(tmp_path, "--require", "torchaudio")
    assert r.returncode == 1
    ta = items["torchaudio"]
    assert ta["required"] is True and ta["checks"][0]["status"] == "fail"
    assert items["soundfile"]["required"] is False


def test_required_backends_from_the_config(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.audio-qa.doctor]\nrequire = ["torchaudio", "soundfile"]\n')
    r, rep, items = _doctor_with_broken_torchcodec(tmp_path)
    assert r.returncode == 1 and items["torchaudio"]["checks"][0]["status"] == "fail"
    (tmp_path / "pyproject.toml").write_text('[tool.audio-qa.doctor]\nrequire = ["nosuch"]\n')
    r = run_cli("doctor", "--backends", "soundfile", cwd=tmp_path)
    assert r.returncode == 2 and "[tool.audio-qa.doctor] require: unknown backend(s) nosuch" in r.stderr


def _path_without(tmp_path, *tools):
    """A PATH whose folders hold everything the real PATH does except ``tools`` (hidden for one
    subprocess; nothing is uninstalled)."""
    import os

    shadow = tmp_path / "bin"
    shadow.mkdir()
    for d in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            if name not in tools and not (shadow / name).exists():
                (shadow / name).symlink_to(os.path.join(d, name))
    return str(shadow)


def test_without_ffmpeg_and_sox_the_doctor_passes_and_their_tests_skip(tmp_path):
    import os
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "PATH": _path_without(tmp_path, "ffmpeg", "sox", "chromium"),
           "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "qa", "doctor", "--output-dir", str(tmp_path), "--backends",
                        "soundfile", "ffmpeg", "sox", "--formats", "wav", "--json", "-"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    items = {i["path"]: i for i in json.loads(r.stdout)["items"]}
    for tool in ("ffmpeg", "sox"):
        c = items[tool]["checks"][0]
        assert c["status"] == "skip" and c["message"].startswith(f"{tool} is not installed"), c
        assert c["hint"].startswith("apt install")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                        "--basetemp", str(tmp_path / "inner"),
                        "tests/cli/test_doctor.py::test_clean_machine_every_backend_passes",
                        "tests/doctor/test_backends.py::test_clean_backends_pass_every_format",
                        "tests/test_codecs.py::test_ffmpeg_aac_round_trip"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "needs ffmpeg (apt install ffmpeg); sox (apt install sox)" in r.stdout, r.stdout
    assert "3 skipped" in r.stdout and "1 passed" in r.stdout, r.stdout  # soundfile still runs
