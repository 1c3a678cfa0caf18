"""The benchmarks import nothing from the test suite: shared fakes live in ``ayavision.testing``."""

from __future__ import annotations

import ast
from pathlib import Path

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def _imported_modules(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _module_strings(tree: ast.Module) -> list[str]:
    """String constants that name a module under ``tests`` (``python -m tests.x``, ``importlib.import_module``)."""
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("tests.")
    ]


def test_no_benchmark_imports_from_tests():
    files = sorted(BENCHMARKS.glob("*.py"))
    assert files
    offenders = {}
    for file in files:
        tree = ast.parse(file.read_text(encoding="utf-8"))
        bad = [n for n in _imported_modules(tree) if n == "tests" or n.startswith("tests.")] + _module_strings(tree)
        if bad:
            offenders[file.name] = bad
    assert not offenders, offenders


def test_no_benchmark_edits_sys_path():
    offenders = [
        file.name
        for file in sorted(BENCHMARKS.glob("*.py"))
        if "sys.path" in ast.unparse(ast.parse(file.read_text(encoding="utf-8")))
    ]
    assert not offenders, offenders
