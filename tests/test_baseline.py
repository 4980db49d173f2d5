"""Baselines: canonical text (sorted, rounded), item identity, and atomic updates that survive a
process killed part way or a write that fails part way."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from qa.atomic import is_temporary
from qa.baseline import (BaselineError, dumps, item_key, load_baseline, previous_path, round_value,
                         snapshot, write_baseline)
from tests.conftest import ROOT


def _report(lufs=-14.0123456789, path="b.flac"):
    return {"schema": "audio-qa.report/1", "items": [
        {"kind": "file", "path": path, "status": "pass",
         "metrics": {"rms_dbfs": -20.00000004, "integrated_lufs": lufs, "distinct_values": 51234,
                     "series": [[0.4, -20.0]], "bandwidth_hz": None},
         "checks": [{"id": "readable", "status": "pass"}, {"id": "clipping", "status": "warn"}]},
        {"kind": "file", "path": "a.flac", "status": "pass", "metrics": {"dc_offset": -0.0},
         "checks": []}]}


def test_rounding_is_stable_and_signless_zero():
    assert round_value(-14.0123456789) == -14.01235
    assert round_value(0.000123456789) == 0.0001234568
    assert round_value(-0.0) == 0.0 and str(round_value(-0.0)) == "0.0"
    assert round_value(7) == 7 and round_value(None) is None
    with pytest.raises(BaselineError, match="not finite"):
        round_value(float("nan"))


def test_snapshot_text_is_sorted_rounded_and_drops_series():
    text = dumps(snapshot(_report()))
    data = json.loads(text)
    assert list(data["items"]) == ["file:a.flac", "file:b.flac"]
    m = data["items"]["file:b.flac"]["metrics"]
    assert m == {"bandwidth_hz": None, "distinct_values": 51234, "integrated_lufs": -14.01235,
                 "rms_dbfs": -20.0}
    assert data["items"]["file:b.flac"]["checks"] == {"clipping": "warn", "readable": "pass"}
    # keys appear sorted in the text itself, so a review diff is stable
    assert text.index('"bandwidth_hz"') < text.index('"distinct_values"') < text.index('"rms_dbfs"')
    # noise below the rounding does not change a byte
    assert dumps(snapshot(_report(lufs=-14.01234567))) == text


def test_item_key_relative_to_root(tmp_path):
    p = tmp_path / "out" / "song.flac"
    assert item_key({"kind": "file", "path": str(p)}, tmp_path) == "file:out/song.flac"
    assert item_key({"kind": "file", "path": "/elsewhere/x.wav"}, tmp_path) == "file:/elsewhere/x.wav"
    assert item_key({"kind": "roundtrip", "path": "x.wav", "codec": "opus:64"}) == "roundtrip:x.wav#opus:64"


def test_duplicate_identity_and_wrong_schema_are_refused():
    with pytest.raises(BaselineError, match="two items share the identity 'file:a.flac'"):
        snapshot({"schema": "audio-qa.report/1",
                  "items": [{"kind": "file", "path": "a.flac"}, {"kind": "file", "path": "a.flac"}]})
    with pytest.raises(BaselineError, match="expected 'audio-qa.report/1'"):
        snapshot({"schema": "something/2", "items": []})


def test_update_keeps_previous(tmp_path):
    path = tmp_path / "baseline.json"
    first, second = snapshot(_report(lufs=-14.0)), snapshot(_report(lufs=-12.0))
    write_baseline(path, first)
    assert not os.path.exists(previous_path(path))
    write_baseline(path, second)
    assert load_baseline(path) == second
    assert json.loads(open(previous_path(path)).read()) == first
    assert sorted(os.listdir(tmp_path)) == ["baseline.json", "baseline.json.prev"]


def test_corrupt_baseline_names_the_file(tmp_path):
    p = tmp_path / "b.json"
    p.write_text('{"schema": "audio-qa.baseline/1", "items": {')
    with pytest.raises(BaselineError, match=r"b\.json: not valid JSON .*interrupted"):
        load_baseline(p)


def _child(script: str, cwd, preexec=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, preexec_fn=preexec)


_SETUP = """
    import json, os, signal, sys
    from qa.baseline import snapshot, write_baseline
    big = {"schema": "audio-qa.report/1", "items": [
        {"kind": "file", "path": f"song{i:06d}.flac", "metrics": {"integrated_lufs": -10.0 - i / 7},
         "checks": [{"id": "clipping", "status": "pass"}]} for i in range(20000)]}
    new = snapshot(big)
"""


def test_killed_before_the_rename_leaves_the_old_baseline(tmp_path):
    """A real SIGKILL of the writing process after the new text is on disk and the old baseline
    has been copied to .prev, at the moment of the final rename."""
    path = tmp_path / "baseline.json"
    write_baseline(path, snapshot(_report()))
    old = path.read_bytes()
    r = _child(_SETUP + """
    real = os.replace
    def killing_replace(src, dst):
        if os.path.basename(dst) == "baseline.json":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(src, dst)
    os.replace = killing_replace
    write_baseline("baseline.json", new)
    """, tmp_path)
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert path.read_bytes() == old
    assert (tmp_path / "baseline.json.prev").read_bytes() == old
    # the complete new text is left in the temporary file, never in place of the baseline
    leftovers = [p for p in os.listdir(tmp_path) if is_temporary(p)]
    assert len(leftovers) == 1 and leftovers[0].startswith(".baseline.json.aqa-tmp-")
    assert load_baseline(path) == snapshot(_report())
    # the next write to that folder removes what the killed writer left (its pid is gone)
    write_baseline(path, snapshot(_report(lufs=-12.0)))
    assert sorted(os.listdir(tmp_path)) == ["baseline.json", "baseline.json.prev"]


def test_write_failing_part_way_leaves_the_old_baseline(tmp_path):
    """The kernel refuses the write half way (RLIMIT_FSIZE of 64 KiB on a ~2 MB baseline): the
    update fails with a message and the old baseline and its .prev are untouched."""
    import resource

    path = tmp_path / "baseline.json"
    write_baseline(path, snapshot(_report(lufs=-20.0)))
    write_baseline(path, snapshot(_report(lufs=-14.0)))
    old, old_prev = path.read_bytes(), (tmp_path / "baseline.json.prev").read_bytes()

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    r = _child(_SETUP + """
    from qa.baseline import BaselineError
    try:
        write_baseline("baseline.json", new)
    except BaselineError as e:
        print(e)
        sys.exit(3)
    """, tmp_path, preexec=limit)
    assert r.returncode == 3, r.stderr
    assert "baseline.json: cannot be written (File too large); the previous baseline is unchanged" in r.stdout
    assert path.read_bytes() == old
    assert (tmp_path / "baseline.json.prev").read_bytes() == old_prev
    assert sorted(os.listdir(tmp_path)) == ["baseline.json", "baseline.json.prev"]
