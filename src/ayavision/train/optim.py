"""What a stage trains: freezing, LoRA, AdamW parameter groups with per-part learning rates, and the schedule."""

from __future__ import annotations

import math

import torch
from torch import nn

from ayavision.errors import AyaVisionError, ConfigError
from ayavision.train.config import Part, StageConfig

PART_PREFIXES: dict[Part, str] = {
    "vision_tower": "model.vision_tower.",
    "connector": "model.multi_modal_projector.",
    "language_model": "model.language_model.",
}


def part_of(name: str) -> Part | None:
    """The part a parameter of AyaVisionForConditionalGeneration belongs to (the head counts as the LLM's)."""
    name = name.removeprefix("base_model.model.")  # a peft-wrapped model
    for part, prefix in PART_PREFIXES.items():
        if name.startswith(prefix):
            return part
    if name.startswith("lm_head."):
        return "language_model"
    return None


class NothingToTrainError(AyaVisionError, ValueError):
    """A stage whose settings leave no parameter trainable."""


def apply_lora(model: nn.Module, stage: StageConfig) -> nn.Module:
    """Wrap the LLM's projections with LoRA adapters (peft); the rest of the LLM is then frozen."""
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    assert stage.lora is not None
    # Anchor the targets inside the language model so the vision tower's projections are left alone.
    pattern = r".*language_model.*\.(" + "|".join(stage.lora.target_modules) + r")$"
    config = PeftLoraConfig(
        r=stage.lora.r, lora_alpha=stage.lora.alpha, lora_dropout=stage.lora.dropout, target_modules=pattern
    )
    return get_peft_model(model, config)


def freeze_for_stage(model: nn.Module, parts: tuple[Part, ...], lora: bool) -> dict[str, dict[str, int]]:
    """Set requires_grad by part; return per-part counts of trainable and frozen parameters for the log."""
    summary: dict[str, dict[str, int]] = {}
    for name, param in model.named_parameters():
        part = part_of(name) or "other"
        is_adapter = "lora_" in name
        trainable = is_adapter if lora and part == "language_model" else part in parts and not is_adapter
        param.requires_grad_(trainable)
        counts = summary.setdefault(part, {"trainable": 0, "frozen": 0})
        counts["trainable" if trainable else "frozen"] += param.numel()
    if not any(c["trainable"] for c in summary.values()):
        raise NothingToTrainError(f"the stage trains {list(parts)} but no parameter is left trainable")
    return summary


def build_optimizer(model: nn.Module, stage: StageConfig, stage_name: str) -> torch.optim.Optimizer:
    """AdamW over trainable parameters only, one group per part (its own lr), no decay on biases and norms."""
    groups: dict[tuple[str, bool], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        part = part_of(name) or "other"
        decay = param.ndim >= 2
        groups.setdefault((part, decay), []).append(param)
    param_groups = []
    for (part, decay), params in sorted(groups.items()):
        lr = stage.lr.get(part)  # type: ignore[call-overload]
        if lr is None:
            raise ConfigError(f"stages.{stage_name}.lr: no learning rate for trained part {part!r}")
        param_groups.append(
            {
                "params": params,
                "lr": lr,
                "initial_lr": lr,
                "part": part,
                "weight_decay": stage.weight_decay if decay else 0.0,
            }
        )
    # The fused kernel (CPU and GPU) updates all tensors in one pass; the per-tensor loop PyTorch falls back
    # to on CPU cost a fifth of a small model's step.
    return torch.optim.AdamW(param_groups, betas=stage.betas, eps=1e-8, fused=True)


def warmup_cosine(warmup: int, total: int, floor: float):
    """Linear warmup, then cosine decay from the peak to `floor` x peak at the last step."""

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor
