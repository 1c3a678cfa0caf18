"""Fixtures for the annotation tests: a toy dataset and a fake teacher server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ayavision.annotate import BackendSpec, RunOptions
from ayavision.testing.openai_server import FakeOpenAIServer
from tests.annotate.helpers import make_dataset, teacher


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "in", 12)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(answer=teacher) as running:
        yield running


@pytest.fixture
def spec(server: FakeOpenAIServer) -> BackendSpec:
    return BackendSpec(kind="openai", base_url=server.url, model="fake-model", backoff_base=0.01, concurrency=4)


@pytest.fixture
def quiet() -> RunOptions:
    return RunOptions(progress=False)
