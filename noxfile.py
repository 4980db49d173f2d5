"""Entry points: ``nox -s audio_qa`` (the main QA job) and ``nox -s tests`` (the test suite).

Environments are reused between runs (the torch stack is 4.6 GB); ``nox -R`` skips reinstalls.
With uv installed, nox creates them with uv (seconds from its cache), else with virtualenv + pip.
"""

import os

import nox

nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]
# uv when it is installed (`pip install uv`): it links the 4.6 GB torch stack from its cache,
# so the second environment costs seconds (pip unpacks it again, 2-3 min); plain virtualenv +
# pip otherwise.
nox.options.default_venv_backend = "uv|virtualenv"
# uv does not compile bytecode unless asked, and where PYTHONDONTWRITEBYTECODE is set every
# test subprocess would then compile torch's sources again (the suite took 22.5 min, not 14.5)
os.environ.setdefault("UV_COMPILE_BYTECODE", "1")

PYTHON = ["3.11"]
# torchaudio wheels are built against one torch release; 2.11 is the newest pair on the
# registry, and torchaudio >= 2.9 needs TorchCodec (0.11 matches torch 2.11) to save.
TORCH_STACK = ["torch==2.11.0", "torchaudio==2.11.0", "torchcodec==0.11.*"]


def _install(session: nox.Session, extras: str) -> None:
    session.install(*TORCH_STACK)
    session.install("-e", f".[{extras}]")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite, against the real torch / torchaudio / TorchCodec / FFmpeg stack."""
    # Every optional path is tested: Dask executors, the service and its probes, EnCodec.
    _install(session, "metrics,dev,dask,probe,serve,encodec")
    session.run("pytest", *(session.posargs or ["-q", *_workers()]))


def _workers() -> list[str]:
    """Two pytest-xdist workers where there are two cores, whole test files to each (their
    module fixtures start servers and clusters once): 754 tests in 8.7 min on this 2-core
    machine; one process took 16.7 min (before two 45 s main-job runs left the tests). More
    workers only contend: the tests run subprocesses, servers and Dask workers of their own.
    ``nox -s tests -- -q`` runs them in one process."""
    import os

    n = min(2, os.cpu_count() or 1)
    return ["-n", str(n), "--dist", "loadfile"] if n > 1 else []


@nox.session(python=PYTHON)
def audio_qa(session: nox.Session) -> None:
    """The main QA job: results and reports under qa-artifacts/."""
    _install(session, "metrics,probe,serve")  # the service step starts and probes the service
    session.run("python", "-m", "qa.mainjob", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The benchmarks in benchmarks/ (figures go in the README)."""
    _install(session, "metrics,dev")
    session.run("python", "-m", "benchmarks", *session.posargs)
