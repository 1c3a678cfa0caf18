"""Fixtures for the data tests: small datasets built at test time from PIL images."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .helpers import FIXTURES, bomb_png, make_image, record, write_jsonl_lines


@pytest.fixture
def good_dataset(tmp_path: Path) -> Path:
    """A valid JSONL dataset: single image, multi-image, text-only, multi-turn, ISO code, string content."""
    root = tmp_path / "good"
    make_image(root / "images/red.png", (8, 6), "red")
    make_image(root / "images/blue.jpg", (10, 4), "blue", fmt="JPEG")
    multi_turn = record("good/multi-turn")
    multi_turn["messages"] += [
        {"role": "user", "content": "And the colour?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Red."}]},
    ]
    text_only = record("good/text", images=[], task="text", bucket="text", language="fr")
    text_only["messages"][1]["content"] = "Bonjour."
    rows = [
        record("good/single", meta={"parent": "x", "steps": ["recaption"]}),
        record("good/multi", images=["images/red.png", "images/blue.jpg"], task="multi_image"),
        text_only,
        multi_turn,
    ]
    return write_jsonl_lines(root / "train.jsonl", rows)


@pytest.fixture
def broken_dataset(tmp_path: Path) -> Path:
    """The broken corpus of fixtures/broken/records.jsonl, with the images it names made here."""
    root = tmp_path / "broken"
    root.mkdir()
    shutil.copy(FIXTURES / "broken" / "records.jsonl", root / "records.jsonl")
    make_image(root / "images/ok.png")
    (root / "images/notes.png").write_text("these are notes, not an image\n")
    (root / "images/bomb.png").write_bytes(bomb_png())
    make_image(tmp_path / "outside.png")  # exists, so only the path check can refuse it
    return root / "records.jsonl"


@pytest.fixture
def make_dataset(tmp_path: Path) -> Callable[[list[Any], str], Path]:
    def build(rows: list[Any], name: str = "data.jsonl") -> Path:
        make_image(tmp_path / "images/red.png")
        return write_jsonl_lines(tmp_path / name, rows)

    return build
