"""Data flows one way (load -> measure -> judge -> report): the lower layers never import the
CLI, and the audio type does not import the loaders built on it. Read from the source (every
import statement, at any depth, including the ones inside functions)."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

LOWER = ["qa/reports", "qa/metrics", "qa/checks", "qa/probes", "qa/io"]


def imported(path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def _under(names: set[str], package: str) -> set[str]:
    return {n for n in names if n == package or n.startswith(package + ".")}


@pytest.mark.parametrize("layer", LOWER)
def test_lower_layers_never_import_the_cli(layer):
    modules = sorted((ROOT / layer).rglob("*.py"))
    assert modules, f"no modules under {layer}"
    bad = {str(m.relative_to(ROOT)): sorted(_under(imported(m), "qa.cli")) for m in modules}
    assert {m: n for m, n in bad.items() if n} == {}


def test_audio_and_loading_do_not_import_each_other():
    assert _under(imported(ROOT / "qa" / "audio.py"), "qa.loading") == set()
    assert "qa.audio" in imported(ROOT / "qa" / "loading.py")  # the one direction
