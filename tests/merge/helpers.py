"""Make VLM / text-LLM pairs and re-save a VLM in other layouts, for the merge tests."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

from ayavision.model.checkpoint import INDEX_FILE, iter_tensors
from ayavision.model.compose import compose
from ayavision.model.spec import ConnectorSpec, LLMSpec, ModelSpec, VisionSpec
from ayavision.model.store import save_composed

from ..model.helpers import SMALL_VISION, save_causal_lm


@dataclass(frozen=True)
class Pair:
    vlm: Path  # on-disk default layout, one file
    text: Path


def make_pair(root: Path, model_type: str, tie: bool, **llm_overrides) -> Pair:
    """A text LLM, and a VLM composed from it whose language model then moved away from it (as training does)."""
    text = save_causal_lm(root / f"{model_type}-text", model_type, tie=tie, **llm_overrides)
    spec = ModelSpec(
        vision=VisionSpec(config={**SMALL_VISION, "patch_size": 8, "image_size": 32}),
        llm=LLMSpec(checkpoint=text),
        connector=ConnectorSpec(intermediate_size=64),
    )
    composed = compose(spec)
    torch.manual_seed(3)
    with torch.no_grad():
        for param in composed.model.model.language_model.parameters():
            param.add_(0.1 * torch.randn_like(param))
        if not tie:
            composed.model.lm_head.weight.add_(0.1 * torch.randn_like(composed.model.lm_head.weight))
    vlm = root / f"{model_type}-vlm"
    save_composed(composed, vlm, spec)
    return Pair(vlm=vlm, text=text)


def load_all(folder: Path) -> dict[str, torch.Tensor]:
    return dict(iter_tensors(folder))


def text_name(vlm_name: str) -> str | None:
    """The text LLM's name of a VLM tensor in any of the layouts the tests write; None if not the language model."""
    for prefix, replacement in (
        ("language_model.model.", "model."),
        ("model.language_model.", "model."),
        ("language_model.lm_head.", "lm_head."),
    ):
        if vlm_name.startswith(prefix):
            return replacement + vlm_name[len(prefix) :]
    return "lm_head.weight" if vlm_name == "lm_head.weight" else None


def _in_memory(name: str) -> str:
    if name.startswith("language_model.model."):
        return "model.language_model." + name[len("language_model.model.") :]
    if name.startswith("language_model.lm_head."):
        return name[len("language_model.") :]
    return "model." + name


def _released(name: str) -> str:
    if name.startswith("vision_tower."):
        return "vision_tower.vision_model." + name[len("vision_tower.") :]
    return name


RENAMES = {"on-disk": lambda name: name, "in-memory": _in_memory, "released": _released}


def resave(source: Path, target: Path, layout: str = "on-disk", shards: int = 1) -> Path:
    """Copy a folder with its tensors renamed to another layout, in one file or several shards with an index."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.safetensors", INDEX_FILE))
    state = {RENAMES[layout](name): tensor for name, tensor in load_all(source).items()}
    if shards == 1:
        save_file(state, target / "model.safetensors", metadata={"format": "pt"})
        return target
    names = sorted(state)
    weight_map = {}
    for i in range(shards):
        file = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        part = {name: state[name] for name in names[i::shards]}
        save_file(part, target / file, metadata={"format": "pt"})
        weight_map |= dict.fromkeys(part, file)
    (target / INDEX_FILE).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}), encoding="utf-8")
    return target
