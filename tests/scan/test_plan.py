"""The shard plan, the manifest reader and the progress line: pure parts of the scan."""

from __future__ import annotations

import io
import os

import pytest

from qa.atomic import HOST, TEMP_MARKER
from qa.scan import ScanError
from qa.scan.plan import Entry, make_plan, parse_shard_spec, read_manifest
from qa.scan.progress import Progress
from qa.scan.store import RunDir


def _plan(n: int, size: int, **kw):
    return make_plan([Entry(f"f{i}.wav") for i in range(n)], profile_name="streaming",
                     thresholds=kw.get("thresholds", {"clipping": {"fail_fraction": 0.001}}), shard_size=size)


def test_plan_is_deterministic_and_its_fingerprint_sees_every_input():
    a, b = _plan(10, 3), _plan(10, 3)
    assert a.to_json() == b.to_json()
    assert [len(s) for s in a.shards] == [3, 3, 3, 1]
    assert len({a.fingerprint, _plan(10, 4).fingerprint, _plan(11, 3).fingerprint,
                _plan(10, 3, thresholds={"clipping": {"fail_fraction": 0.01}}).fingerprint}) == 4
    # the command line's expectations and read options judge the rows too
    entries = [Entry(f"f{i}.wav") for i in range(10)]
    ctx = {"profile": {"name": "streaming"}, "read": {"decode_budget_mb": None},
           "expect": {"sample_rate": None, "channels": None, "duration": None}}
    other = {**ctx, "expect": {**ctx["expect"], "sample_rate": 48000}}
    budget = {**ctx, "read": {"decode_budget_mb": 64}}
    prints = {make_plan(entries, profile_name="streaming", thresholds={}, shard_size=3,
                        context=c).fingerprint for c in (ctx, other, budget)}
    assert len(prints) == 3


def test_a_folder_a_sibling_task_is_starting_in_holds_no_other_files(tmp_path):
    # tasks of one array starting together: another's plan temporary and empty shard folders
    # are not "someone else's files", a stray file is
    rd = RunDir(str(tmp_path / "run"))
    assert not rd.holds_other_files()  # not there yet
    (tmp_path / "run" / "rows").mkdir(parents=True)
    (tmp_path / "run" / "done").mkdir()
    (tmp_path / "run" / f".plan.json{TEMP_MARKER}{HOST}@{os.getpid()}-abc123").write_text("{")
    assert not rd.holds_other_files()
    (tmp_path / "run" / "rows" / "shard-00000.jsonl").write_text("{}\n")
    assert rd.holds_other_files()
    (tmp_path / "run" / "rows" / "shard-00000.jsonl").unlink()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    assert rd.holds_other_files()


@pytest.mark.parametrize("n_shards,groups", [(7, 3), (4, 4), (2, 5)])
def test_shard_groups_partition_the_shards(n_shards, groups):
    plan = _plan(n_shards * 2, 2)
    seen = [s for i in range(1, groups + 1) for s in plan.group(i, groups)]
    assert sorted(seen) == list(range(n_shards))
    assert plan.group(1, groups)[:2] == [0, groups][: len(plan.group(1, groups))]


def test_shard_spec():
    assert parse_shard_spec("3/8") == (3, 8)
    for bad, msg in (("0/3", "1 <= I <= N"), ("4/3", "1 <= I <= N"), ("a/b", "expected I/N")):
        with pytest.raises(ValueError, match=msg):
            parse_shard_spec(bad)


def test_duplicate_file_is_refused():
    with pytest.raises(ScanError, match="a.wav is listed twice"):
        make_plan([Entry("a.wav"), Entry("a.wav")], profile_name="p", thresholds={})


def test_manifest_paths_are_relative_to_it_and_expectations_typed(tmp_path):
    m = tmp_path / "sub" / "m.jsonl"
    m.parent.mkdir()
    m.write_text('{"path": "x.wav", "sample_rate": 48000, "duration": 95}\n\n{"path": "/abs/y.flac"}\n')
    assert read_manifest(str(m)) == [Entry(str(tmp_path / "sub" / "x.wav"), sample_rate=48000, duration=95.0),
                                     Entry("/abs/y.flac")]
    m.write_text('{"path": "x.wav", "channels": 1.5}\n')
    with pytest.raises(ScanError, match=r"line 1: channels must be a positive integer, got 1.5"):
        read_manifest(str(m))


def test_progress_line():
    out = io.StringIO()
    p = Progress(200, stream=out, interval_s=1e9)
    p.add(50, 2, 1800.0, resumed=True)
    assert out.getvalue() == ""  # resumed shards are counted, not printed one by one
    p.add(150, 1, 5400.0)  # the last files: printed whatever the interval
    assert out.getvalue().startswith("scan: 200/200 files (100.0 %), ")
    assert out.getvalue().endswith(" files/s, 2.00 h audio, ETA 0:00:00, 3 failed\n")
    # ten seconds in: 150 fresh files (the 50 resumed ones do not count into the rate)
    assert p.line(p._t0 + 10.0) == "scan: 200/200 files (100.0 %), 15.0 files/s, 2.00 h audio, ETA 0:00:00, 3 failed"
    p2 = Progress(100, stream=out)
    p2.done = 20
    assert p2.line(p2._t0 + 10.0) == "scan: 20/100 files (20.0 %), 2.0 files/s, 0.00 h audio, ETA 0:00:40, 0 failed"
