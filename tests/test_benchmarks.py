"""The benchmark scripts import the package lazily (inside ``main``), so a moved name would only fail when a
benchmark is run: check every ``from xaireport... import name`` they contain resolves."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("bench_*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.name)
def test_benchmark_imports_resolve(script):
    tree = ast.parse(script.read_text())
    found = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("xaireport"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                found += 1
                assert hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), (
                    f"{script.name}: {node.module}.{alias.name}"
                )
    assert found > 0
