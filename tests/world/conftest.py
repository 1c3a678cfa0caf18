"""Fixtures for the shapes-world tests: tiny datasets and tiny pretrained parts, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

import ayavision.world  # noqa: F401 - registers the world's backends and benchmarks

# The text LLM of the `world_parts` fixture: two steps of a two-layer model, enough for folders and composition.
TINY_TEXT_LLM = {
    "steps": 2,
    "batch_size": 2,
    "eval_size": 23,
    "hidden_size": 32,
    "intermediate_size": 64,
    "layers": 2,
    "heads": 2,
    "kv_heads": 1,
    "max_positions": 512,
    "scene_qa_eval": 23,
    # Two rows a step: one text-task dialogue, one written scene; two steps of the copying lesson.
    "scene_qa_share": 0.4,
    "copy_steps": 2,
}


@pytest.fixture(scope="session")
def world_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ayavision.world import make_world_dataset

    out = tmp_path_factory.mktemp("world") / "data"
    make_world_dataset(out, n=48, seed=7)
    return out


@pytest.fixture(scope="session")
def world_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ayavision.world.pretrain import pretrain_tokenizer

    out = tmp_path_factory.mktemp("world") / "tokenizer"
    pretrain_tokenizer(out, vocab_size=1024, per_frame=2, text_samples=4)
    return out


@pytest.fixture(scope="session")
def world_parts(tmp_path_factory: pytest.TempPathFactory, world_tokenizer: Path) -> dict[str, Path]:
    """A tiny encoder and text LLM, trained for a couple of steps: enough to check folders and composition."""
    from ayavision.world.pretrain import pretrain_encoder, pretrain_text_llm

    root = tmp_path_factory.mktemp("parts")
    pretrain_encoder(
        root / "encoder",
        world_tokenizer,
        steps=2,
        batch_size=4,
        pool=16,
        eval_size=8,
        hidden_size=32,
        intermediate_size=64,
        layers=1,
        text_hidden_size=32,
        text_layers=1,
        heads=2,
    )
    pretrain_text_llm(root / "text-llm", world_tokenizer, **TINY_TEXT_LLM)
    return {"tokenizer": world_tokenizer, "encoder": root / "encoder", "llm": root / "text-llm"}


@pytest.fixture(scope="session")
def world_vlm(world_parts: dict[str, Path]):
    """The tiny encoder and text LLM composed into a VLM (``ayavision.model.compose.Composed``)."""
    from ayavision.model.compose import compose
    from ayavision.model.spec import ConnectorSpec, LLMSpec, ModelSpec, TilingSpec, VisionSpec

    spec = ModelSpec(
        vision=VisionSpec(checkpoint=world_parts["encoder"]),
        llm=LLMSpec(checkpoint=world_parts["llm"]),
        connector=ConnectorSpec(downsample_factor=2, intermediate_size=64),
        tiling=TilingSpec(tile_size=64, max_tiles=2),
    )
    return compose(spec)
