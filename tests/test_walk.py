"""The folder walk: every entry named like audio gets an item, nothing is followed into a
device or a loop, no recursion limit, and names that are not UTF-8 are shown with escapes."""

import json
import os
import socket
import tempfile
from pathlib import Path

import pytest
import soundfile as sf

from qa.analyze import check_path
from qa.checks import CheckContext
from qa.loading import iter_audio_paths
from tests.conftest import run_cli, sine


def _wav(path):
    sf.write(path, 0.1 * sine(440, 16000, 1.0)[0], 16000, subtype="PCM_16")


@pytest.fixture
def odd_folder(tmp_path):
    _wav(tmp_path / "ok.wav")
    os.mkfifo(tmp_path / "fifo.wav")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock.wav"))
    os.mkdir(tmp_path / "folder.wav")
    os.symlink("nowhere.wav", tmp_path / "dangling.wav")
    os.symlink("loop.wav", tmp_path / "loop.wav")
    os.symlink("/dev/zero", tmp_path / "zero.wav")
    os.symlink(str(tmp_path), tmp_path / "back")  # a link to a folder above: never followed
    yield tmp_path
    sock.close()


EXPECTED = {
    "fifo.wav": "FIFO skipped",
    "sock.wav": "socket skipped",
    "folder.wav": "a folder named like audio",
    "dangling.wav": "dangling symlink (to nowhere.wav",
    "loop.wav": "symlink loop",
    "zero.wav": "a symlink to /dev/zero, device: not followed",
}


def test_every_special_entry_gets_a_readable_item(odd_folder):
    paths = iter_audio_paths([str(odd_folder)])
    assert sorted(os.path.basename(p) for p in paths) == sorted([*EXPECTED, "ok.wav"])
    for p in paths:
        item = check_path(p, CheckContext())
        name = os.path.basename(p)
        readable = item.check("readable")
        if name == "ok.wav":
            assert readable.status == "pass"
            continue
        assert readable.status == "fail" and EXPECTED[name] in readable.message, readable.message
        assert p in readable.message


def test_check_of_the_odd_folder_reports_one_item_per_entry(odd_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "r.json"
    r = run_cli("check", str(odd_folder), "--json", str(out), timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    items = json.loads(out.read_text())["items"]
    assert len(items) == len(EXPECTED) + 1


def test_a_thousand_deep_folder_is_walked():
    # Not in tmp_path: pytest's clean-up of old temporary folders recurses and would choke.
    tmp_path = Path(tempfile.mkdtemp(prefix="aqa-deep-"))
    d, made = tmp_path, []
    for _ in range(1000):  # os.makedirs itself recurses
        d = d / "d"
        os.mkdir(d)
        made.append(d)
    try:
        _wav(tmp_path / "deep.wav")  # libsndfile refuses to write to a path over 1,024 bytes
        os.rename(tmp_path / "deep.wav", d / "deep.wav")
        assert len(os.fsencode(str(d))) > 2000
        assert iter_audio_paths([str(tmp_path)]) == [str(d / "deep.wav")]
        item = check_path(str(d / "deep.wav"), CheckContext())
        assert item.check("readable").status == "pass", item.check("readable").message
    finally:  # pytest's own clean-up recurses too
        if (d / "deep.wav").exists():
            os.remove(d / "deep.wav")
        for folder in reversed(made):
            os.rmdir(folder)
        os.rmdir(tmp_path)


def test_a_name_too_long_has_the_right_reason():
    p = "/tmp/" + "x" * 300 + ".wav"
    item = check_path(p, CheckContext())
    c = item.check("readable")
    assert "longer than the file system allows" in c.message and "shorter path" in c.hint


def test_a_non_utf8_name_is_read_and_shown_with_escapes(tmp_path):
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9_\xff.wav")
    name = os.fsdecode(raw)
    _wav(tmp_path / "plain.wav")
    os.rename(tmp_path / "plain.wav", raw)
    html, out = tmp_path / "r.html", tmp_path / "r.json"
    env_strict = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    import subprocess
    import sys

    from tests.conftest import ROOT

    r = subprocess.run([sys.executable, "-m", "qa", "check", str(tmp_path), "--json", str(out),
                        "--html", str(html), "--junit", str(tmp_path / "r.xml")],
                       env={**env_strict, "PYTHONPATH": str(ROOT)}, capture_output=True,
                       timeout=120)
    assert b"Traceback" not in r.stderr, r.stderr
    assert r.returncode in (0, 1)
    shown = f"{tmp_path}/caf\\xe9_\\xff.wav"
    assert shown.encode() in r.stdout
    (item,) = json.loads(out.read_text(encoding="utf-8"))["items"]
    assert item["path"] == shown and item["checks"][0]["status"] == "pass"
    assert "caf\\xe9_\\xff.wav" in html.read_text(encoding="utf-8")
