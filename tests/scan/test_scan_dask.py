"""``audio-qa scan --executor dask``: a real LocalCluster, and a real ``dask scheduler`` with two
``dask worker`` processes on 127.0.0.1 (one killed mid-run) give the local executor's results."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.scan.corpus import read_rows, subprocess_env, summary_of, write_corpus

pytest.importorskip("distributed", reason="Dask distributed is not installed (pip install 'audio-qa[dask]')")
DASK = Path(sys.executable).with_name("dask")
SHARDS = ("--shard-size", "2")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder, 14, broken=2, clipped=(3,))
    return folder


@pytest.fixture(scope="module")
def local_run(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "run"
    r = run_cli("scan", str(corpus), "--out", str(out), *SHARDS, "--jobs", "2")
    assert r.returncode == 1, r.stderr
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_local_cluster_gives_the_local_summary(corpus, local_run, tmp_path):
    out = tmp_path / "run"
    r = run_cli("scan", str(corpus), "--out", str(out), *SHARDS, "--jobs", "2", "--executor", "dask")
    assert r.returncode == 1, r.stderr
    assert summary_of(out) == summary_of(local_run)
    assert read_rows(out) == read_rows(local_run)
    assert "scan: 16/16 files (100.0 %)" in r.stderr


@pytest.fixture()
def dask_cluster(tmp_path):
    """A scheduler and two workers (one thread each, no nanny: the worker is the process)."""
    if not DASK.exists():
        pytest.skip(f"the dask command is not installed beside {sys.executable}")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=subprocess_env(), stdout=subprocess.DEVNULL,
                              stderr=open(tmp_path / "scheduler.log", "w"), start_new_session=True)]
    elsewhere = tmp_path / "elsewhere"  # the workers' working folder is not the scan's
    elsewhere.mkdir()
    try:
        from dask.distributed import Client

        for i in range(2):
            procs.append(subprocess.Popen(
                [str(DASK), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--host", "127.0.0.1", "--name", f"w{i}"], env=subprocess_env(), stdout=subprocess.DEVNULL,
                stderr=open(tmp_path / f"worker{i}.log", "w"), start_new_session=True, cwd=elsewhere))
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address, procs[1:]
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(5)  # a worker whose scheduler went first can sit out its reconnect: no test reads it
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)


def test_scheduler_and_two_workers_one_killed_mid_run(corpus, local_run, tmp_path, dask_cluster):
    address, workers = dask_cluster
    out = tmp_path / "run"
    # relative paths, as typed in a shell: the workers run in another folder and must still
    # find the files and the run directory
    scan = subprocess.Popen([sys.executable, "-m", "qa", "scan", os.path.relpath(corpus, tmp_path),
                             "--out", "run", *SHARDS, "--executor", f"dask={address}"],
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and scan.poll() is None:
        if (out / "done").is_dir() and len(list((out / "done").iterdir())) >= 2:
            break
        time.sleep(0.02)
    finished_before_kill = len(list((out / "done").iterdir()))
    os.killpg(workers[0].pid, signal.SIGKILL)
    workers[0].wait(30)
    _, stderr = scan.communicate(timeout=300)
    assert scan.returncode == 1, stderr
    assert finished_before_kill < 8, "the scan finished before the worker was killed"
    assert summary_of(out) == summary_of(local_run)
    rows = read_rows(out)
    assert len(rows) == 16 and rows == read_rows(local_run)


def test_unreachable_scheduler_is_a_usage_error(corpus, tmp_path):
    r = run_cli("scan", str(corpus), "--out", str(tmp_path / "run"), *SHARDS,
                "--executor", f"dask=tcp://127.0.0.1:{_free_port()}", timeout=120,
                env={"AUDIO_QA_DASK_CONNECT_TIMEOUT_S": "3"})  # Dask's 30 s default is for real networks
    assert r.returncode == 2
    assert "cannot reach the scheduler" in r.stderr and "dask scheduler" in r.stderr
