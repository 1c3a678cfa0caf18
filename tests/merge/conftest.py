"""VLM / text-LLM pairs built once for the merge tests: a tied Cohere2 and an untied Llama."""

from __future__ import annotations

import pytest

from .helpers import Pair, make_pair


@pytest.fixture(scope="session")
def cohere_pair(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    return make_pair(tmp_path_factory.mktemp("cohere"), "cohere2", tie=True, logit_scale=1.0)


@pytest.fixture(scope="session")
def llama_pair(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    return make_pair(tmp_path_factory.mktemp("llama"), "llama", tie=False)
