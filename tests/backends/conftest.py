"""Fixtures for the backend tests: tiny random translators built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends.tiny_nllb import build_tiny_nllb


@pytest.fixture(scope="session")
def tiny_nllb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_nllb(tmp_path_factory.mktemp("models") / "tiny-nllb")


@pytest.fixture(scope="session")
def stopping_nllb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_nllb(tmp_path_factory.mktemp("models") / "tiny-nllb-stops", stops_early=True)
