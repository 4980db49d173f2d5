"""qa.atomic: the one atomic write (no redirect through a planted symlink, no mixture, cleanup)."""

from __future__ import annotations

import os

import pytest

from qa.atomic import (HOST, TEMP_MARKER, clean_stale_temporaries, is_temporary, temporary_name,
                       write_atomic)
from qa.errors import AudioQAError, OutputError


def test_writes_text_and_bytes_and_replaces(tmp_path):
    p = tmp_path / "r.json"
    write_atomic(p, "first")
    write_atomic(p, b"\x00second")
    assert p.read_bytes() == b"\x00second"
    assert os.listdir(tmp_path) == ["r.json"]


def test_a_planted_symlink_at_any_temporary_name_is_never_followed(tmp_path):
    """An attacker who can write the output folder plants symlinks at every name the old
    ``.NAME.PID.tmp`` scheme would have used; the victim file must stay as it was."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    for name in (f".r.json.{os.getpid()}.tmp", f".r.json{TEMP_MARKER}{os.getpid()}-x"):
        os.symlink(victim, out / name)
    write_atomic(out / "r.json", "results")
    assert victim.read_text() == "precious"
    assert (out / "r.json").read_text() == "results"


def test_stale_temporaries_of_dead_processes_are_removed_live_ones_kept(tmp_path):
    dead_pid = 2 ** 22 + 12345  # above pid_max's default range: no such process
    stale = tmp_path / f".a.json{TEMP_MARKER}{HOST}@{dead_pid}-abc123"
    legacy = tmp_path / f".c.json{TEMP_MARKER}{dead_pid}-abc123"  # written before host tags
    live = tmp_path / f".b.json{TEMP_MARKER}{HOST}@{os.getpid()}-def456"
    for p in (stale, legacy, live):
        p.write_text("x")
    assert is_temporary(stale.name) and is_temporary(legacy.name) and not is_temporary("song.wav")
    assert sorted(clean_stale_temporaries(tmp_path)) == sorted([str(stale), str(legacy)])
    assert sorted(os.listdir(tmp_path)) == [live.name]


def test_another_hosts_temporaries_are_never_removed(tmp_path):
    """A run folder shared over NFS by a Dask cluster or a Slurm array: another machine's pid
    means nothing here, so its half-written rows stay, whatever pid they carry."""
    dead_pid = 2 ** 22 + 12345
    theirs = tmp_path / f".rows-00001.jsonl{TEMP_MARKER}other-node-07@{dead_pid}-abc123"
    theirs.write_text("half a shard")
    write_atomic(tmp_path / "rows-00002.jsonl", "ours")  # cleans this host's stale ones first
    assert is_temporary(theirs.name)
    assert clean_stale_temporaries(tmp_path) == []
    assert theirs.read_text() == "half a shard"


def test_temporaries_carry_this_host_and_pid(tmp_path):
    name = os.path.basename(temporary_name(str(tmp_path / "song.wav"), ".wav"))
    assert name.startswith(f".song.wav{TEMP_MARKER}{HOST}@{os.getpid()}-") and is_temporary(name)


def test_unwritable_folder_is_an_output_error_naming_the_path(tmp_path):
    with pytest.raises(OutputError, match=r"output .*nowhere/r\.json: cannot create a file in"):
        write_atomic(tmp_path / "nowhere" / "r.json", "x")
    assert issubclass(OutputError, AudioQAError)


def test_directory_target_is_refused(tmp_path):
    with pytest.raises(OutputError, match="is a directory"):
        write_atomic(tmp_path, "x")
