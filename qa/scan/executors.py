"""Where shards run: threads of this process (``local``, each with its own worker child) or Dask
distributed (a ``LocalCluster``, or an existing ``dask scheduler`` by address).

Every executor runs :func:`qa.scan.shard.run_shard`, which writes rows and the marker into the
run directory itself; the executor only hands out shard ids and reports progress. A Dask task
that is lost with its worker is rerun by the scheduler elsewhere and, being atomic and skipped
once marked, does its shard exactly once in the results.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Mapping

from qa.scan import ScanError
from qa.scan.progress import Progress
from qa.scan.shard import ShardDone, is_failure, row_audio_s, run_shard
from qa.scan.store import RunDir
from qa.scan.worker import FileWorker

DASK_HINT = "pip install 'audio-qa[dask]' (Dask distributed)"
#: Seconds to wait for a Dask scheduler at ``--executor dask=ADDRESS`` (Dask's own default is
#: 30 s too); ``AUDIO_QA_DASK_CONNECT_TIMEOUT_S`` sets it.
CONNECT_TIMEOUT_S = 30.0


def connect_timeout_s() -> float:
    """:data:`CONNECT_TIMEOUT_S`, or ``AUDIO_QA_DASK_CONNECT_TIMEOUT_S`` (positive seconds)."""
    raw = os.environ.get("AUDIO_QA_DASK_CONNECT_TIMEOUT_S", "").strip()
    if not raw:
        return CONNECT_TIMEOUT_S
    try:
        v = float(raw)
    except ValueError:
        v = float("nan")
    if not (v > 0 and math.isfinite(v)):
        raise ScanError(f"AUDIO_QA_DASK_CONNECT_TIMEOUT_S={raw!r}: expected a positive number of "
                        f"seconds (default {CONNECT_TIMEOUT_S:g}); fix or unset it")
    return v


def run_local(run_dir: RunDir, shards: Iterable[int], context: Mapping[str, Any], *, jobs: int,
              timeout_s: float, progress: Progress) -> list[ShardDone]:
    """``jobs`` lanes, each a thread driving its own worker child; progress per file."""
    plan = run_dir.load_plan()
    local = threading.local()
    workers: list[FileWorker] = []
    lock = threading.Lock()

    def lane_worker() -> FileWorker:
        if not hasattr(local, "worker"):
            local.worker = FileWorker(context, timeout_s)
            with lock:
                workers.append(local.worker)
        return local.worker

    def on_row(row: dict) -> None:
        progress.add(1, int(is_failure(row)), row_audio_s(row))

    def one(i: int) -> ShardDone:
        return run_shard(run_dir, i, [e.to_dict() for e in plan.shards[i]], lane_worker(), on_row)

    try:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="scan-lane") as pool:
            return list(pool.map(one, list(shards)))
    finally:
        for w in workers:
            w.close()


def run_dask(run_dir: RunDir, shards: Iterable[int], context: Mapping[str, Any], *,
             address: str | None, jobs: int, timeout_s: float, progress: Progress) -> list[ShardDone]:
    """One task per shard on Dask; progress per finished shard."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ScanError(f"--executor dask needs Dask distributed, which is not installed: {DASK_HINT}") from None
    shards = list(shards)
    plan = run_dir.load_plan()
    cluster = None
    try:
        if address:
            try:
                client = Client(address, timeout=connect_timeout_s())
            except (OSError, TimeoutError) as e:
                raise ScanError(f"--executor dask={address}: cannot reach the scheduler ({e}); "
                                "start it with `dask scheduler` and workers with `dask worker ADDRESS`") from None
        else:
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        with client:
            futures = [client.submit(dask_shard_task, run_dir.path, i,
                                     [e.to_dict() for e in plan.shards[i]], dict(context), timeout_s,
                                     key=f"audio-qa-shard-{plan.fingerprint}-{i}", pure=False,
                                     retries=2)
                       for i in shards]
            out = []
            for fut in as_completed(futures):
                try:
                    done = fut.result()
                except Exception as e:  # the task failed on every retry (KilledWorker, an OSError ...)
                    raise ScanError(f"shard task {fut.key} failed on Dask ({type(e).__name__}: {e}); the "
                                    "finished shards are kept: rerun with --resume") from None
                progress.add(done.files, done.failures, done.audio_s, resumed=done.skipped)
                out.append(done)
            return sorted(out, key=lambda d: d.shard)
    finally:
        if cluster is not None:
            cluster.close()


#: One worker child per Dask worker thread, kept between tasks (starting one costs ~0.5 s).
_DASK_WORKERS: dict[tuple[int, str], FileWorker] = {}


def dask_shard_task(path: str, shard: int, entries: list[dict], context: dict,
                    timeout_s: float) -> ShardDone:
    """The Dask task: one shard, on whichever worker runs it."""
    import json

    key = (threading.get_ident(), json.dumps([context, timeout_s], sort_keys=True))
    worker = _DASK_WORKERS.get(key)
    if worker is None:
        worker = _DASK_WORKERS[key] = FileWorker(context, timeout_s)
    return run_shard(RunDir(path), shard, entries, worker)


