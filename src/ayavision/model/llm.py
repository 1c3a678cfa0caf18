"""The language-model side of composition: its config, its tokenizer, and its checkpoint's weights by name."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import AutoConfig, AutoTokenizer, PretrainedConfig, PreTrainedTokenizerBase
from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES, MODEL_MAPPING_NAMES

from ayavision.errors import AyaVisionError
from ayavision.model.spec import LLMSpec
from ayavision.model.tokens import train_tiny_tokenizer


class LLMError(AyaVisionError, ValueError):
    """An LLM that cannot be composed; the message says why."""


def resolve_text_config(spec: LLMSpec) -> PretrainedConfig:
    if spec.config is not None:
        kwargs = dict(spec.config)
        model_type = kwargs.pop("model_type")
        _check_causal_lm(model_type, "llm.config.model_type")
        try:
            return AutoConfig.for_model(model_type, **kwargs)
        except (TypeError, ValueError) as err:
            raise LLMError(f"llm.config: {err}") from None
    folder = Path(spec.checkpoint)  # type: ignore[arg-type]
    path = folder / "config.json"
    try:
        model_type = json.loads(path.read_text(encoding="utf-8")).get("model_type")
    except FileNotFoundError:
        raise LLMError(f"{folder}: no config.json; is this a causal-LM checkpoint folder?") from None
    except json.JSONDecodeError as err:
        raise LLMError(f"{path}: not valid JSON ({err})") from None
    _check_causal_lm(model_type, str(path))
    config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
    # A multimodal checkpoint's top-level config wraps the LLM's; take the text part.
    return getattr(config, "text_config", None) or config


def _check_causal_lm(model_type: str | None, where: str) -> None:
    if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or model_type not in MODEL_MAPPING_NAMES:
        raise LLMError(
            f"{where}: model_type {model_type!r} is not a causal LM that transformers can build "
            "(e.g. cohere, cohere2, llama, qwen2, gemma, gemma2, mistral)"
        )


def load_tokenizer(spec: LLMSpec) -> PreTrainedTokenizerBase:
    source = spec.tokenizer if spec.tokenizer is not None else spec.checkpoint
    if source is None:
        raise LLMError("llm.tokenizer: an inline LLM config needs a tokenizer folder, or 'tiny'")
    if source == "tiny":
        return train_tiny_tokenizer()
    try:
        return AutoTokenizer.from_pretrained(str(source), trust_remote_code=False)
    except (OSError, ValueError) as err:
        raise LLMError(f"llm.tokenizer: cannot load a tokenizer from {source}: {err}") from None


def map_llm_name(name: str) -> str | None:
    """A text LLM's tensor name under the composed model's in-memory names, or None if it is not the LLM's."""
    if name.startswith("model."):
        return "model.language_model." + name[len("model.") :]
    if name == "lm_head.weight":
        return "lm_head.weight"
    return None
