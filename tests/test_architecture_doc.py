"""docs/architecture.md stays true: its ``ayavision.`` names import, its paths exist, its plug-in examples resolve."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]
DOC = REPO / "docs" / "architecture.md"
TEXT = DOC.read_text(encoding="utf-8")
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
# Inline code only: fenced blocks are checked through their imports.
INLINE = CODE_BLOCK.sub("", re.sub(r"```\n.*?```", "", TEXT, flags=re.DOTALL))
PLUGIN_SECTION = TEXT.split("## Adding things with a plug-in", 1)[1].split("\n## ", 1)[0]
PLUGIN_FUNCTIONS = (
    "register_data_source",
    "register_backend",
    "register_step",
    "register_benchmark",
    "register_report_section",
)


def resolve(dotted: str) -> object:
    """The module or attribute a dotted name denotes: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


DOTTED = sorted(set(re.findall(r"`(ayavision\.[A-Za-z_][\w.]*\w)", INLINE)))
PATHS = sorted(set(re.findall(r"`((?:src|recipes)/[^`\s]*)`", TEXT)))


def test_the_doc_names_things():
    assert len(DOTTED) > 20 and PATHS and len(CODE_BLOCK.findall(PLUGIN_SECTION)) == len(PLUGIN_FUNCTIONS)


@pytest.mark.parametrize("dotted", DOTTED)
def test_every_dotted_name_resolves(dotted: str):
    resolve(dotted)


@pytest.mark.parametrize("path", PATHS)
def test_every_cited_path_exists(path: str):
    assert (REPO / path).exists(), path


def _imports(block: str) -> dict[str, object]:
    """Name -> object for every ``from ayavision... import name`` of a code block (each must resolve)."""
    found = {}
    for node in ast.walk(ast.parse(block)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ayavision":
            module = importlib.import_module(node.module)
            for alias in node.names:
                found[alias.asname or alias.name] = getattr(module, alias.name)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for name in names:
                importlib.import_module(name)  # a standard module the example uses
    return found


def test_every_plugin_function_exists_and_each_example_imports_what_it_uses():
    blocks = CODE_BLOCK.findall(PLUGIN_SECTION)
    imported = {}
    for block in blocks:
        names = _imports(block)
        used = set(re.findall(r"\bregister_\w+", block))
        assert used <= set(names), f"an example uses {sorted(used - set(names))} without importing it"
        imported.update(names)
    named = set(re.findall(r"\bregister_\w+", PLUGIN_SECTION))
    assert set(PLUGIN_FUNCTIONS) <= named
    for name in named:
        assert callable(imported.get(name)), f"{name} is named in the plug-in section but no example imports it"
