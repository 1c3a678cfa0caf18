"""Read the two inputs' configs and check that their language models are the same architecture."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from transformers import AutoConfig, AyaVisionConfig, PretrainedConfig

from ayavision.merge.errors import MergeError

# Fields that change the computation without necessarily changing any tensor's shape.
ARCHITECTURE_FIELDS = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
)


@dataclass(frozen=True)
class LanguageModelConfig:
    """What the merge needs to know of one side's language model."""

    model_type: str
    tied_head: bool
    config: PretrainedConfig


def _raw_config(folder: Path, option: str) -> dict:
    path = folder / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MergeError(f"{option} {folder}: no config.json") from None
    except json.JSONDecodeError as err:
        raise MergeError(f"{option} {path}: not valid JSON ({err})") from None


def read_vlm_config(folder: Path) -> LanguageModelConfig:
    raw = _raw_config(folder, "--vlm")
    if raw.get("model_type") != "aya_vision":
        raise MergeError(f"--vlm {folder}: config.json has model_type {raw.get('model_type')!r}, not 'aya_vision'")
    config = AyaVisionConfig.from_pretrained(folder)
    # AyaVisionConfig's own tie_word_embeddings decides whether lm_head is the embedding matrix, whatever the
    # text config says; that is the flag the saved checkpoint obeys.
    return LanguageModelConfig(config.text_config.model_type, bool(config.tie_word_embeddings), config.text_config)


def read_text_config(folder: Path) -> LanguageModelConfig:
    raw = _raw_config(folder, "--text")
    if "text_config" in raw or raw.get("model_type") == "aya_vision":
        kind = raw.get("model_type")
        raise MergeError(f"--text {folder}: a multimodal config (model_type {kind!r}); give the text LLM")
    try:
        config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
    except (ValueError, KeyError) as err:
        raise MergeError(f"--text {folder}: config.json cannot be read by transformers ({err})") from None
    return LanguageModelConfig(config.model_type, bool(config.tie_word_embeddings), config)


def check_same_kind(vlm: LanguageModelConfig, text: LanguageModelConfig) -> None:
    """Model type and head tying must agree before any tensor is compared."""
    if vlm.model_type != text.model_type:
        raise MergeError(
            f"different architectures: the VLM's language model is {vlm.model_type!r}, the text LLM is "
            f"{text.model_type!r}; merge the text LLM the VLM was built from"
        )
    if vlm.tied_head != text.tied_head:
        raise MergeError(
            f"different architectures: tie_word_embeddings is {vlm.tied_head} in the VLM's config and "
            f"{text.tied_head} in the text LLM's (one has its own output head, the other reuses the embeddings)"
        )


def check_same_architecture(vlm: LanguageModelConfig, text: LanguageModelConfig) -> None:
    """Fields that tensor shapes may not reveal (heads versus head size, for one)."""
    for field in ARCHITECTURE_FIELDS:
        ours, theirs = getattr(vlm.config, field, None), getattr(text.config, field, None)
        if ours is not None and theirs is not None and ours != theirs:
            raise MergeError(
                f"different architectures: {field} is {ours} in the VLM's text_config and {theirs} in the text LLM's"
            )
