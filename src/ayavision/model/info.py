"""Describe a model without loading its weights: parameters per component, image tokens, on-disk layout."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import AyaVisionConfig, AyaVisionForConditionalGeneration

from ayavision.model.chat_format import install_chat_template
from ayavision.model.checkpoint import LAYOUT_STYLES, dtype_bytes, layout_kind, list_tensors
from ayavision.model.compat import require_model_folder
from ayavision.model.compose import assemble_config
from ayavision.model.llm import load_tokenizer
from ayavision.model.presets import PRESETS
from ayavision.model.processor import tokens_per_tile
from ayavision.model.spec import ModelSpec
from ayavision.model.tokens import add_multimodal_tokens
from ayavision.model.vision import resolve_encoder


@dataclass
class LayoutGroup:
    prefix: str
    tensors: int
    bytes: int
    dtypes: list[str]


@dataclass
class ModelInfo:
    name: str
    parameters: dict[str, int]  # vision_tower, connector, language_model, lm_head (untied only), total
    tied_head: bool
    tile_size: int
    patch_size: int
    downsample_factor: int
    tokens_per_tile: int
    max_tiles: int
    max_image_tokens: int  # <|IMG_PATCH|> tokens of one image at the most tiles (thumbnail included)
    layout_style: str | None = None
    shards: int | None = None
    layout: list[LayoutGroup] = field(default_factory=list)


def describe_config(config: AyaVisionConfig, name: str, tile_size: int, max_tiles: int) -> ModelInfo:
    """Count parameters on the meta device: no memory is allocated, so 32B is counted on a laptop."""
    with torch.device("meta"):
        model = AyaVisionForConditionalGeneration(config)
    tied = model.lm_head.weight is model.model.language_model.get_input_embeddings().weight

    def count(module: torch.nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    params = {
        "vision_tower": count(model.model.vision_tower),
        "connector": count(model.model.multi_modal_projector),
        "language_model": count(model.model.language_model),
    }
    if not tied:
        params["lm_head"] = model.lm_head.weight.numel()
    params["total"] = sum(p.numel() for p in model.parameters())
    patch = config.vision_config.patch_size
    factor = config.downsample_factor
    per_tile = tokens_per_tile(tile_size, patch, factor)
    tiles = max_tiles + 1 if max_tiles > 1 else 1  # the thumbnail comes on top of the grid
    return ModelInfo(name, params, tied, tile_size, patch, factor, per_tile, max_tiles, tiles * per_tile)


def describe_spec(spec: ModelSpec) -> ModelInfo:
    assert spec.vision is not None and spec.llm is not None, "a 'base' spec is described by its folder"
    encoder = resolve_encoder(spec.vision, spec.tiling.tile_size, spec.connector.downsample_factor)
    needs_tokenizer = spec.llm.config is not None and "vocab_size" not in spec.llm.config
    tokenizer = load_tokenizer(spec.llm) if needs_tokenizer else None
    if tokenizer is not None:
        add_multimodal_tokens(tokenizer, spec.tiling.max_tiles)
        install_chat_template(tokenizer)
    config = assemble_config(spec, encoder.config, tokenizer)
    return describe_config(config, spec.name, encoder.config.image_size, spec.tiling.max_tiles)


def describe_folder(folder: str | Path) -> ModelInfo:
    folder = Path(folder)
    require_model_folder(folder)
    config = AyaVisionConfig.from_pretrained(folder)
    processor_cfg = _read_json(folder / "processor_config.json") or {}
    image_cfg = processor_cfg.get("image_processor") or _read_json(folder / "preprocessor_config.json") or {}
    tile = int(
        processor_cfg.get("img_size") or image_cfg.get("size", {}).get("height") or config.vision_config.image_size
    )
    max_tiles = int(image_cfg.get("max_patches", 12)) if image_cfg.get("crop_to_patches", True) else 1
    info = describe_config(config, folder.name, tile, max_tiles)
    tensors = list_tensors(folder)
    info.shards = len({t.file for t in tensors})
    info.layout_style = layout_style([t.name for t in tensors])
    groups: dict[str, list] = defaultdict(list)
    for t in tensors:
        groups[_group_prefix(t.name)].append(t)
    info.layout = [
        LayoutGroup(prefix, len(ts), sum(t.numel * dtype_bytes(t.dtype) for t in ts), sorted({t.dtype for t in ts}))
        for prefix, ts in sorted(groups.items())
    ]
    return info


def describe(target: str) -> ModelInfo:
    """A preset name or a model folder."""
    if target in PRESETS:
        return describe_spec(PRESETS[target])
    path = Path(target)
    if path.is_dir():
        return describe_folder(path)
    raise FileNotFoundError(f"{target}: neither a preset ({', '.join(PRESETS)}) nor a model folder")


def layout_style(names: list[str]) -> str:
    """Which naming an AyaVision checkpoint uses; merge and load code must know, never guess per key."""
    return LAYOUT_STYLES[layout_kind(names)]


def _group_prefix(name: str) -> str:
    parts = name.split(".")
    depth = 2 if parts[0] in {"model", "language_model"} else 1
    if parts[0] == "vision_tower" and len(parts) > 1 and parts[1] == "vision_model":
        depth = 2
    return ".".join(parts[:depth]) + ".*"


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
