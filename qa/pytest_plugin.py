"""pytest plugin: assert audio quality in your own test suite.

Registered through the ``pytest11`` entry point, so installing audio-qa enables it (or load it
explicitly with ``-p qa.pytest_plugin``). It gives:

* :func:`assert_audio` (``from qa.pytest_plugin import assert_audio``): run every file check on
  an :class:`~qa.audio.Audio`, a file path, a numpy array or a torch tensor, and fail with the
  check table as the message when a check fails (or warns, with ``strict=True``).
* the ``audio_probe`` fixture: a stage probe (``qa.probes``, issue 5) bound to the test; wrap your
  pipeline's stages with ``with audio_probe.stage("decode") as s: s.record(x)``. When the test
  ends, a stage check that failed fails the test, naming the first bad stage.
* ``--audio-qa-json FILE``, ``--audio-qa-html FILE``, ``--audio-qa-junit FILE``: the session's
  results (every assert_audio call and probed run) as an audio-qa report, and
  ``--audio-qa-profile NAME`` for the default threshold profile of assert_audio.

See docs/pytest-plugin.md.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from qa.results import ItemResult, Report

_MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "error": "ERROR", "skip": "skip"}


class _Session:
    """What the plugin collects over one pytest session."""

    def __init__(self, profile: str | None, rootdir: str):
        self.profile = profile
        self.rootdir = rootdir
        self.items: list[ItemResult] = []
        self.current_test: str | None = None
        self.per_test: dict[str, int] = {}

    def name_for(self, label: str | None) -> str:
        test = self.current_test or "assert_audio"
        n = self.per_test[test] = self.per_test.get(test, 0) + 1
        return f"{test}::{label or f'audio{n}'}"


_SESSION: _Session | None = None


def assert_audio(audio: Any, sample_rate: int | None = None, *, profile: str | None = None,
                 expect_sample_rate: int | None = None, expect_duration: float | None = None,
                 expect_channels: int | None = None, strict: bool = False,
                 layout: str = "auto", name: str | None = None) -> ItemResult:
    """Check audio and raise ``AssertionError`` with the check table if a check fails.

    ``audio``: an :class:`~qa.audio.Audio`, a path to a file, a numpy array (``sample_rate``
    needed; 1-D mono or (channels, samples), ``layout="channels_last"`` for (samples, channels))
    or a torch tensor. ``profile`` names a threshold set (default: ``--audio-qa-profile``, then
    the project's ``[tool.audio-qa]`` config, then ``generic``). ``strict``: warnings fail too.
    Returns the :class:`~qa.results.ItemResult` so a test can also assert on metrics."""
    __tracebackhide__ = True  # pytest shows the caller's line and the table, not this body
    from qa.analyze import check_audio, check_path
    from qa.audio import Audio
    from qa.checks import CheckContext
    from qa.config import build_config

    sess = _SESSION
    cfg = build_config(
        flags={"profile": profile or (sess.profile if sess else None)},
        cwd=sess.rootdir if sess else ".",
    )
    ctx = CheckContext(profile=cfg.profile(), expect_sample_rate=expect_sample_rate,
                       expect_duration=expect_duration, expect_channels=expect_channels)
    if isinstance(audio, (str, os.PathLike)):
        if sample_rate is not None:
            raise TypeError("assert_audio: sample_rate is read from the file; do not pass it with a path")
        item = check_path(os.fspath(audio), ctx)
    else:
        if not isinstance(audio, Audio):
            if sample_rate is None:
                raise TypeError(
                    f"assert_audio: a {type(audio).__name__} needs sample_rate=HZ "
                    "(e.g. assert_audio(x, 44100))"
                )
            is_torch = type(audio).__module__.startswith("torch")
            make = Audio.from_torch if is_torch else Audio.from_array
            audio = make(audio, sample_rate, layout=layout)
        label = sess.name_for(name) if sess else (name or audio.source)
        item = check_audio(audio, ctx, path=label)
    if sess is not None:
        sess.items.append(item)
    bad = {"fail", "error"} | ({"warn"} if strict else set())
    if item.status in bad:
        raise AssertionError(check_table(item))
    return item


def check_table(item: ItemResult) -> str:
    """Every check of an item as an aligned text table (the assertion message)."""
    head = f"audio-qa: {item.path} -> {item.status.upper()}"
    if item.sample_rate:
        head += f" ({item.sample_rate} Hz, {item.channels} ch, {item.frames / item.sample_rate:.2f} s)"
    rows = [("status", "check", "value", "threshold", "message")]
    for c in item.checks:
        rows.append((_MARK[c.status], c.id, *_shown(c), c.message))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [head]
    for r, c in zip(rows, (None, *item.checks)):
        lines.append("  " + "  ".join(v.ljust(w) for v, w in zip(r[:4], widths)) + "  " + r[4])
        if c is not None and c.hint and c.status in ("fail", "error", "warn"):
            lines.append(" " * (4 + sum(widths) + 8) + f"hint: {c.hint}")
    return "\n".join(lines)


def _shown(c) -> tuple[str, str]:
    """Value and threshold as text, never rounded onto the wrong side of each other."""
    from qa.display import value_and_threshold

    v, t = value_and_threshold(c.value, c.threshold)
    return tuple("-" if x is None else (f"{s} {c.unit}" if c.unit else s)
                 for x, s in ((c.value, v), (c.threshold, t)))


# -- fixture ------------------------------------------------------------------------------------
@pytest.fixture
def audio_probe(request):
    """A stage probe bound to this test (the API of ``qa.probes``, issue 5):

        with audio_probe.stage("vae_decode") as s:
            s.record(decoder(latent))

    At the end of the test its run record joins the session report, and a failing stage check
    fails the test with the first bad stage named."""
    try:
        from qa.probes import Probe
    except ImportError as e:  # torch is an optional extra; qa.probes imports it lazily
        raise RuntimeError(
            f"the audio_probe fixture needs qa.probes (the stage probes of issue 5): {e}"
        ) from None
    probe = Probe()
    yield probe
    item = probe.to_item(request.node.nodeid)
    if _SESSION is not None:
        _SESSION.items.append(item)
    if item.status in ("fail", "error"):
        pytest.fail(f"first bad stage: {item.extra.get('first_bad_stage')}\n" + check_table(item),
                    pytrace=False)


# -- hooks --------------------------------------------------------------------------------------
def pytest_addoption(parser):
    g = parser.getgroup("audio-qa", "audio quality checks (audio-qa)")
    g.addoption("--audio-qa-json", metavar="FILE", help="write the session's audio results as JSON")
    g.addoption("--audio-qa-html", metavar="FILE", help="write the session's audio results as HTML")
    g.addoption("--audio-qa-junit", metavar="FILE", help="write the session's audio checks as JUnit XML")
    g.addoption("--audio-qa-profile", metavar="NAME", help="default threshold profile of assert_audio")


def pytest_configure(config):
    global _SESSION
    if (config.getoption("--audio-qa-html") or config.getoption("--audio-qa-junit")):
        try:
            import qa.reports  # noqa: F401
        except ImportError as e:  # INTEGRATION(issue 8): HTML/JUnit rendering
            raise pytest.UsageError(
                f"--audio-qa-html/--audio-qa-junit need qa.reports (issue 8), not available: {e}"
            ) from None
    _SESSION = _Session(config.getoption("--audio-qa-profile"), str(config.rootpath))


def pytest_runtest_setup(item):
    if _SESSION is not None:
        _SESSION.current_test = item.nodeid


def pytest_runtest_teardown(item):
    if _SESSION is not None:
        _SESSION.current_test = None


def pytest_sessionfinish(session):
    global _SESSION
    sess, _SESSION = _SESSION, None
    if sess is None:
        return
    config = session.config
    targets = {k: config.getoption(f"--audio-qa-{k}") for k in ("json", "html", "junit")}
    if not any(targets.values()):
        return
    from qa.atomic import write_atomic
    from qa.cli.common import environment

    report = Report(tuple(sess.items), environment=environment())
    if targets["json"]:
        write_atomic(targets["json"], report.to_json())
    if targets["html"] or targets["junit"]:
        from qa import reports  # INTEGRATION(issue 8): check these names against qa.reports

        data = report.to_dict()
        if targets["html"]:
            reports.write_html(data, targets["html"])
        if targets["junit"]:
            reports.write_junit(data, targets["junit"])


def pytest_terminal_summary(terminalreporter, config):
    for k in ("json", "html", "junit"):
        path = config.getoption(f"--audio-qa-{k}")
        if path:
            terminalreporter.write_line(f"audio-qa {k} report: {os.path.abspath(path)}")
