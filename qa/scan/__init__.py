"""``audio-qa scan``: the checks over a whole corpus, resumable and on more than one machine.

Layers, lowest first: :mod:`qa.scan.plan` (the manifest and the deterministic shard plan),
:mod:`qa.scan.worker` (one file at a time in a child process under a time limit),
:mod:`qa.scan.store` (the run directory: shard rows, completion markers), :mod:`qa.scan.shard`
(one shard from plan to marker), :mod:`qa.scan.executors` (local threads or Dask distributed),
:mod:`qa.scan.summary` (``summary.json``, ``audio-qa.corpus/1``), :mod:`qa.scan.gate` (the
corpus gate) and :mod:`qa.scan.report` (the corpus page).
"""

from qa.errors import AudioQAError


class ScanError(AudioQAError):
    """A manifest, plan or run directory that cannot be used (the CLI exits 2 with the message)."""


__all__ = ["ScanError"]
