"""The vision encoder side of composition: its config at the tile size, and its checkpoint's weights mapped in."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import SiglipVisionConfig

from ayavision.errors import AyaVisionError
from ayavision.model.checkpoint import CheckpointError, iter_tensors
from ayavision.model.spec import VisionSpec

# Fixed-resolution SigLIP2 checkpoints are plain `siglip`; the NaFlex ones are `siglip2` and are converted.
_SIGLIP_TYPES = {"siglip", "siglip_vision_model"}
_SIGLIP2_TYPES = {"siglip2", "siglip2_vision_model"}
_CONFIG_KEYS = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_channels",
    "patch_size",
    "hidden_act",
    "layer_norm_eps",
    "attention_dropout",
)


class EncoderError(AyaVisionError, ValueError):
    """An encoder that cannot be composed; the message says why and what to change."""


@dataclass
class EncoderSource:
    """An encoder config at the tile size, and where its weights come from."""

    config: SiglipVisionConfig
    checkpoint: Path | None
    family: str  # "siglip" or "siglip2"
    checkpoint_image_size: int | None  # the size its position embeddings were trained at


def resolve_encoder(spec: VisionSpec, tile_size: int | None, downsample_factor: int) -> EncoderSource:
    if spec.config is not None:
        try:
            config = SiglipVisionConfig(**spec.config)
        except (TypeError, ValueError) as err:
            raise EncoderError(f"vision.config: {err}") from None
        family, ckpt_size = "siglip", None
    else:
        config, family, ckpt_size = _config_from_checkpoint(spec.checkpoint)
    if tile_size is not None:
        config.image_size = tile_size
    config.vision_use_head = False  # AyaVision uses the token sequence, not the pooled head
    check_grid(config.image_size, config.patch_size, downsample_factor)
    return EncoderSource(config, spec.checkpoint, family, ckpt_size)


def check_grid(image_size: int, patch_size: int, downsample_factor: int) -> int:
    """Refuse a tile size whose patch grid pixel shuffle cannot fold (or that leaves pixels unseen)."""
    grid = image_size // patch_size
    if image_size % patch_size == 0 and grid % downsample_factor == 0:
        return grid
    good = _nearest_good_size(image_size, patch_size, downsample_factor)
    problems = []
    if image_size % patch_size:
        problems.append(f"leaves {image_size % patch_size} border pixels unseen by patch size {patch_size}")
    if grid % downsample_factor:
        problems.append(
            f"gives a {grid}x{grid} patch grid, which pixel shuffle (factor {downsample_factor}) cannot fold"
        )
    raise EncoderError(
        f"tile size {image_size} {' and '.join(problems)}; use tiling.tile_size {good} "
        "(Aya Vision runs SigLIP2 patch14 at 364 px for this reason)"
    )


def _nearest_good_size(image_size: int, patch_size: int, factor: int) -> int:
    step = patch_size * factor
    return max(step, (image_size // step) * step)  # the largest size below: 384 px at patch 14 -> 364


def _config_from_checkpoint(folder: Path | None) -> tuple[SiglipVisionConfig, str, int]:
    assert folder is not None
    path = Path(folder) / "config.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EncoderError(f"{folder}: no config.json; is this a SigLIP checkpoint folder?") from None
    except json.JSONDecodeError as err:
        raise EncoderError(f"{path}: not valid JSON ({err})") from None
    model_type = raw.get("model_type")
    vision = raw.get("vision_config", raw) if model_type in {"siglip", "siglip2"} else raw
    if model_type in _SIGLIP_TYPES:
        family = "siglip"
        image_size = int(vision.get("image_size", 224))
    elif model_type in _SIGLIP2_TYPES:
        family = "siglip2"
        image_size = math.isqrt(int(vision.get("num_patches", 256))) * int(vision.get("patch_size", 16))
    else:
        raise EncoderError(
            f"{path}: model_type {model_type!r} is not a SigLIP or SigLIP2 encoder "
            f"(expected one of {sorted(_SIGLIP_TYPES | _SIGLIP2_TYPES)})"
        )
    kwargs = {key: vision[key] for key in _CONFIG_KEYS if key in vision}
    return SiglipVisionConfig(**kwargs, image_size=image_size), family, image_size


def encoder_state_dict(source: EncoderSource) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """The checkpoint's encoder tensors under the vision tower's own names.

    Returns (state dict, ignored names, notes). Ignored are the tensors that belong to something
    AyaVision does not use (the text tower, the pooling head, the contrastive scale); they are
    counted, never silently mixed with real mismatches.
    """
    assert source.checkpoint is not None
    state: dict[str, torch.Tensor] = {}
    ignored: list[str] = []
    notes: list[str] = []
    grid = source.config.image_size // source.config.patch_size
    for name, tensor in iter_tensors(source.checkpoint):
        key = _strip_prefix(name)
        if key is None:
            ignored.append(name)
            continue
        if key == "embeddings.patch_embedding.weight" and tensor.dim() == 2:
            tensor = _linear_patch_to_conv(tensor, source.config.patch_size, source.config.num_channels)
            notes.append("patch embedding converted from SigLIP2 NaFlex linear form to convolution form")
        if key == "embeddings.position_embedding.weight" and tensor.shape[0] != grid * grid:
            old = math.isqrt(tensor.shape[0])
            tensor = resize_position_embeddings(
                tensor, grid, mode="bilinear" if source.family == "siglip2" else "bicubic"
            )
            notes.append(f"position embeddings resized from {old}x{old} to {grid}x{grid} for the tile size")
        state[key] = tensor
    return state, ignored, notes


def _strip_prefix(name: str) -> str | None:
    for prefix in ("vision_model.", "vision_tower.vision_model.", "vision_tower.", "model.vision_tower."):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    else:
        if name.startswith(("text_model.", "logit_scale", "logit_bias")):
            return None
    if name.startswith("head."):
        return None
    return name


def _linear_patch_to_conv(weight: torch.Tensor, patch_size: int, channels: int) -> torch.Tensor:
    # SigLIP2 flattens each patch as (row, col, channel); a Conv2d kernel is (channel, row, col).
    out_dim = weight.shape[0]
    if weight.shape[1] != patch_size * patch_size * channels:
        raise CheckpointError(f"patch embedding of shape {tuple(weight.shape)} does not match patch size {patch_size}")
    return weight.reshape(out_dim, patch_size, patch_size, channels).permute(0, 3, 1, 2).contiguous()


def resize_position_embeddings(weight: torch.Tensor, grid: int, mode: str = "bicubic") -> torch.Tensor:
    """Interpolate a square grid of position embeddings (N, D) to (grid*grid, D), as each family does at run time."""
    old = math.isqrt(weight.shape[0])
    if old * old != weight.shape[0]:
        raise CheckpointError(f"position embeddings of length {weight.shape[0]} are not a square grid")
    dim = weight.shape[1]
    as_image = weight.float().reshape(1, old, old, dim).permute(0, 3, 1, 2)
    resized = F.interpolate(as_image, size=(grid, grid), mode=mode, align_corners=False, antialias=mode == "bilinear")
    return resized.permute(0, 2, 3, 1).reshape(grid * grid, dim).to(weight.dtype)
