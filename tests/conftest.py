"""Shared fixtures: a tiny AyaVision folder built once per session, and helpers that make checkpoint folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ayavision.model.compose import compose
    from ayavision.model.presets import get_preset
    from ayavision.model.store import save_composed

    out = tmp_path_factory.mktemp("models") / "tiny"
    spec = get_preset("tiny")
    save_composed(compose(spec), out, spec)
    return out
