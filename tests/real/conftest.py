"""Real pretrained LLMs (SmolLM2-135M-Instruct, Gemma 3 270M) from scripts/real_models.py, and VLMs composed from them.

The models come from PyPI packages, converted once into a cache. Without them these tests skip, saying how to get
them, unless AYAVISION_REQUIRE_REAL_MODELS=1 (as CI sets it): then a missing model is a failure, not a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
CACHE = Path(os.environ.get("AYAVISION_REAL_MODELS", Path.home() / ".cache" / "ayavision" / "real-models"))


def _real(folder: str) -> Path:
    path = CACHE / folder
    if (path / "conversion.json").exists():
        return path
    message = f"{path} missing: run `.venv/bin/python scripts/real_models.py` (installs PyPI packages, converts once)"
    if os.environ.get("AYAVISION_REQUIRE_REAL_MODELS") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    return _real("smollm2-135m-instruct")


@pytest.fixture(scope="session")
def gemma3_dir() -> Path:
    return _real("gemma3-270m")


def compose_spec(llm: Path, max_tiles: int = 4):
    from ayavision.model.presets import get_preset
    from ayavision.model.spec import LLMSpec, ModelSpec, TilingSpec

    return ModelSpec(
        name=f"tiny-siglip-{llm.name}",
        vision=get_preset("tiny").vision,  # the real SigLIP architecture, tiny and random: no package ships weights
        llm=LLMSpec(checkpoint=llm),
        tiling=TilingSpec(max_tiles=max_tiles),
    )


def _composed_folder(tmp_path_factory: pytest.TempPathFactory, llm: Path) -> Path:
    from ayavision.model.compose import compose
    from ayavision.model.store import save_composed

    spec = compose_spec(llm)
    out = tmp_path_factory.mktemp("real-vlm") / llm.name
    save_composed(compose(spec), out, spec)
    return out


@pytest.fixture(scope="session")
def smollm2_vlm_dir(tmp_path_factory: pytest.TempPathFactory, smollm2_dir: Path) -> Path:
    return _composed_folder(tmp_path_factory, smollm2_dir)


@pytest.fixture(scope="session")
def gemma3_vlm_dir(tmp_path_factory: pytest.TempPathFactory, gemma3_dir: Path) -> Path:
    return _composed_folder(tmp_path_factory, gemma3_dir)
