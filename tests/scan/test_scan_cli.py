"""``audio-qa scan`` in real processes: rows, resume after SIGKILL, shard groups, hangs, crashes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmarks.procs import holder
from tests.conftest import run_cli
from tests.scan.corpus import read_rows, subprocess_env, summary_of, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder, 22, broken=2, clipped=(3,))
    return folder


@pytest.fixture(scope="module")
def reference_run(corpus, tmp_path_factory) -> Path:
    """The uninterrupted scan the others are compared with."""
    out = tmp_path_factory.mktemp("ref") / "run"
    r = run_cli("scan", str(corpus), "--out", str(out), "--shard-size", "3", "--jobs", "2")
    assert r.returncode == 1, r.stderr  # the broken files and the clipped one fail
    return out


def test_one_row_per_file_with_the_check_schema(corpus, reference_run):
    rows = read_rows(reference_run)
    paths = sorted(str(p) for p in corpus.iterdir())
    assert sorted(r["path"] for r in rows) == paths
    by = {Path(r["path"]).name: r for r in rows}
    assert by["broken0.wav"]["status"] == "fail"
    assert by["broken0.wav"]["checks"][0]["id"] == "readable"
    clip = next(c for c in by["song003.wav"]["checks"] if c["id"] == "clipping")
    assert clip["status"] == "fail" and clip["value"] > clip["threshold"]
    good = {c["id"]: c["status"] for c in by["song001.flac"]["checks"]}
    assert by["song001.flac"]["sample_rate"] == 44100
    assert good["readable"] == good["clipping"] == good["finite"] == "pass"
    plan = json.loads((reference_run / "plan.json").read_text())
    assert plan["files"] == 24 and len(plan["shards"]) == 8
    assert sorted(p.name for p in (reference_run / "done").iterdir()) == [f"shard-{i:05d}.json" for i in range(8)]


def test_row_is_the_check_commands_item(corpus, reference_run, tmp_path):
    """The scan row of a file is what `audio-qa check --json` says about it."""
    f = corpus / "song003.wav"
    r = run_cli("check", str(f), "--json", "-")
    item = json.loads(r.stdout)["items"][0]
    row = next(r for r in read_rows(reference_run) if r["path"] == str(f))
    assert row == json.loads(json.dumps(item, sort_keys=True))


def test_summary_counts_and_distributions(reference_run):
    s = summary_of(reference_run)
    assert s["schema"] == "audio-qa.corpus/1" and s["files"] == 24
    assert sum(s["statuses"].values()) == 24
    assert s["checks"]["readable"]["fail"] == 2
    assert s["checks"]["readable"]["fail_rate"] == pytest.approx(2 / 24)
    assert s["checks"]["clipping"]["fail"] == 1
    assert [w["path"] for w in s["worst"]["clipping"]][0].endswith("song003.wav")
    lufs = s["metrics"]["integrated_lufs"]
    assert lufs["count"] == 22 and lufs["nulls"] == 0
    assert lufs["min"] <= lufs["p1"] <= lufs["p50"] <= lufs["p99"] <= lufs["max"]
    assert len(lufs["quantiles"]) == 101 and lufs["quantiles"][50] == lufs["p50"]


def test_sigkill_at_a_random_point_then_resume_gives_the_same_rows(corpus, reference_run, tmp_path):
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    out = tmp_path / "run"
    wait_for = rng.randint(1, 6)  # shards finished before the kill, of 8
    proc = subprocess.Popen([sys.executable, "-m", "qa", "scan", str(corpus), "--out", str(out),
                             "--shard-size", "3", "--jobs", "2"],
                            env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        done = len(list((out / "done").glob("*.json"))) if (out / "done").is_dir() else 0
        if done >= wait_for:
            break
        time.sleep(0.02)
    time.sleep(rng.uniform(0, 0.5))
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    finished = len(list((out / "done").glob("*.json")))
    assert not (out / "summary.json").exists() or finished == 8, f"seed {seed}"
    r = run_cli("scan", str(corpus), "--out", str(out), "--shard-size", "3", "--jobs", "2",
                "--resume")
    assert r.returncode == 1, r.stderr
    rows = read_rows(out)
    assert len(rows) == 24 and len({r["path"] for r in rows}) == 24, f"seed {seed}"
    assert rows == read_rows(reference_run), f"seed {seed}, killed after {finished} shards"
    assert summary_of(out)["checks"] == summary_of(reference_run)["checks"]
    assert f"{finished * 3}/24 files" in r.stderr or finished == 8, (seed, r.stderr)


def test_rerun_without_resume_is_refused(reference_run, corpus):
    r = run_cli("scan", str(corpus), "--out", str(reference_run), "--shard-size", "3")
    assert r.returncode == 2
    assert "already holds this scan with 8 of 8 shards finished; pass --resume" in r.stderr


def test_a_different_scan_in_the_run_dir_is_refused(reference_run, corpus):
    r = run_cli("scan", str(corpus), "--out", str(reference_run), "--shard-size", "4", "--resume")
    assert r.returncode == 2
    assert "holds a different scan" in r.stderr and "choose a new --out" in r.stderr


def test_shard_groups_cover_every_file_once(corpus, reference_run, tmp_path):
    out = tmp_path / "run"
    for i in (1, 2, 3):
        r = run_cli("scan", str(corpus), "--out", str(out), "--shard-size", "3", "--shard", f"{i}/3")
        assert r.returncode == 1, r.stderr
        assert (out / "summary.json").exists() == (i == 3)
    groups = [json.loads(p.read_text())["shard"] for p in sorted((out / "done").iterdir())]
    assert groups == list(range(8))
    rows = read_rows(out)
    assert sorted(r["path"] for r in rows) == sorted(str(p) for p in corpus.iterdir())
    assert rows == read_rows(reference_run)
    ref = summary_of(reference_run)
    assert {k: v for k, v in summary_of(out).items()} == ref


def test_shard_groups_started_together_share_one_run_directory(corpus, reference_run, tmp_path):
    # a Slurm array: every task starts at once on a fresh --out; none may take another's plan
    # or shard folders for a foreign scan
    out = tmp_path / "run"
    tasks = [subprocess.Popen([sys.executable, "-m", "qa", "scan", str(corpus), "--out", str(out),
                               "--shard-size", "3", "--shard", f"{i}/3"], env=subprocess_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in (1, 2, 3)]
    for t in tasks:
        _, err = t.communicate(timeout=300)
        assert t.returncode == 1, err
    assert sorted(p.name for p in (out / "done").iterdir()) == [f"shard-{i:05d}.json" for i in range(8)]
    assert read_rows(out) == read_rows(reference_run)
    assert summary_of(out) == summary_of(reference_run)


def test_the_local_executor_needs_no_dask(corpus, tmp_path):
    # Dask is the optional extra: with it not importable (this environment has it, so a package
    # that refuses the import stands in front of it), a local scan runs and --executor dask
    # says what to install
    block = tmp_path / "no-dask"
    for name in ("dask", "distributed"):
        (block / name).mkdir(parents=True)
        (block / name / "__init__.py").write_text(f'raise ImportError("no module named {name}")\n')
    env = {**subprocess_env()}
    env["PYTHONPATH"] = os.pathsep.join([str(block), env["PYTHONPATH"]])
    files = [str(p) for p in sorted(corpus.glob("song00[0-2].*"))]

    def scan(*extra):
        return subprocess.run([sys.executable, "-m", "qa", "scan", *files, *extra], env=env,
                              capture_output=True, text=True, timeout=300)

    r = scan("--out", str(tmp_path / "local"), "--jobs", "2")
    assert r.returncode == 0, r.stderr
    assert len(read_rows(tmp_path / "local")) == 3
    r = scan("--out", str(tmp_path / "dask"), "--executor", "dask")
    assert r.returncode == 2
    assert ("--executor dask needs Dask distributed, which is not installed: "
            "pip install 'audio-qa[dask]'") in r.stderr


def test_a_folder_holding_other_files_is_refused(corpus, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("not a scan")
    r = run_cli("scan", str(corpus), "--out", str(out))
    assert r.returncode == 2
    assert f"--out {out} is not empty and holds no scan; choose a new folder" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # nothing of theirs touched


def test_a_resume_with_other_expectations_is_another_scan(corpus, tmp_path):
    out = tmp_path / "run"
    files = [str(p) for p in sorted(corpus.glob("song00[0-2].*"))]
    assert run_cli("scan", *files, "--out", str(out)).returncode == 0
    r = run_cli("scan", *files, "--out", str(out), "--resume", "--expect-sample-rate", "48000")
    assert r.returncode == 2
    assert f"--out {out} holds a different scan" in r.stderr and "expectations" in r.stderr


def _worker_reading(scan: subprocess.Popen, name: str, timeout: float = 240) -> int:
    """The pid of the scan's worker child once it has ``name`` open (read from /proc)."""
    pid = holder(scan.pid, name, timeout=timeout)
    if pid is None:
        raise AssertionError(f"no worker opened {name}")
    return pid


@pytest.fixture()
def slow_corpus(tmp_path) -> Path:
    """Short files around two long ones (120 s), so a worker is reliably caught reading them."""
    folder = tmp_path / "c"
    write_corpus(folder, 4, broken=0)
    from tests.scan.corpus import song
    import soundfile as sf

    for name in ("hang.wav", "crash.wav"):
        sf.write(folder / name, song(9, 48000, 120.0), 48000, subtype="PCM_16")
    return folder


def test_a_hanging_and_a_crashing_file_become_rows_and_the_scan_finishes(slow_corpus, tmp_path):
    """The worker is stopped (SIGSTOP: a read that never returns) while it has hang.wav open,
    and killed by SIGSEGV while it has crash.wav open."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "qa", "scan", str(slow_corpus), "--out", str(out),
                             "--file-timeout", "20", "--shard-size", "2"],
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        crashing = _worker_reading(proc, "crash.wav")
        os.kill(crashing, signal.SIGSEGV)
        hanging = _worker_reading(proc, "hang.wav")
        os.kill(hanging, signal.SIGSTOP)
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr
    rows = {Path(r["path"]).name: r for r in read_rows(out)}
    assert len(rows) == 6
    # the 120 s hang.wav earns 20 + 0.2 x 120 s once its header is read; a worker stopped while
    # it reads the header has the bare 20 s
    hang_limits = ("did not finish within 20 s", "did not finish within 44 s")
    for name, reasons in (("hang.wav", hang_limits),
                          ("crash.wav", ("the worker process died while checking it (killed by signal 11)",))):
        row = rows[name]
        assert row["status"] == "error"
        assert row["checks"][0]["id"] == "readable" and row["checks"][0]["status"] == "error"
        assert any(r in row["checks"][0]["message"] for r in reasons), row["checks"][0]["message"]
    for i, ext in enumerate(("wav", "flac", "wav", "wav")):
        assert rows[f"song{i:03d}.{ext}"]["checks"][0] == {
            "id": "readable", "status": "pass", "value": None, "threshold": None, "unit": None,
            "message": rows[f"song{i:03d}.{ext}"]["checks"][0]["message"]}
    assert summary_of(out)["checks"]["readable"]["error"] == 2


def test_manifest_expectations_per_file(corpus, tmp_path):
    man = tmp_path / "m.jsonl"
    man.write_text(json.dumps({"path": str(corpus / "song000.wav"), "sample_rate": 48000}) + "\n"
                   + json.dumps({"path": str(corpus / "song002.wav"), "sample_rate": 48000}) + "\n")
    r = run_cli("scan", "--manifest", str(man), "--out", str(tmp_path / "run"))
    assert r.returncode == 1, r.stderr
    rows = {Path(r["path"]).name: r for r in read_rows(tmp_path / "run")}
    sr0 = next(c for c in rows["song000.wav"]["checks"] if c["id"] == "sample_rate")
    assert sr0["status"] == "fail" and sr0["value"] == 22050 and sr0["threshold"] == 48000
    assert next(c for c in rows["song002.wav"]["checks"] if c["id"] == "sample_rate")["status"] == "pass"


def test_bad_manifest_line_is_named(tmp_path):
    man = tmp_path / "m.jsonl"
    man.write_text('{"path": "a.wav"}\n{"path": "b.wav", "rate": 3}\n')
    r = run_cli("scan", "--manifest", str(man), "--out", str(tmp_path / "run"))
    assert r.returncode == 2
    assert f"manifest {man} line 2: unknown key(s) ['rate']" in r.stderr


def test_the_read_options_reach_the_scan_workers(tmp_path):
    # --raw-format and the decode budget of the config travel to the worker children: the raw
    # file is read as named, the 3 s file over a 0.25 MiB budget is checked in segments
    folder = tmp_path / "in"
    folder.mkdir()
    sine = (0.25 * np.sin(2 * np.pi * 440 * np.arange(48000) / 16000) * 32767).astype("<i2")
    (folder / "take.raw").write_bytes(sine.tobytes())
    sf.write(folder / "a.flac", 0.3 * np.random.default_rng(2).standard_normal((48000, 2)), 16000)
    cfg = tmp_path / "qa.toml"
    cfg.write_text("decode_budget_mb = 0.25\n")
    r = run_cli("scan", str(folder), "--out", str(tmp_path / "run"), "--raw-format",
                "PCM_16:16000:1", "--config", str(cfg), env=subprocess_env())
    assert r.returncode in (0, 1), r.stderr
    rows = {Path(x["path"]).name: x for x in read_rows(tmp_path / "run")}
    assert rows["take.raw"]["sample_rate"] == 16000 and rows["take.raw"]["frames"] == 48000
    assert any(n.startswith("checked in 1 segment of up to 3 s") for n in rows["a.flac"]["notes"])
