"""Make small pretrained-looking checkpoint folders (SigLIP, SigLIP2, causal LMs) for composition tests."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, SiglipConfig, SiglipModel, SiglipVisionConfig

from ayavision.model.tokens import train_tiny_tokenizer

SMALL_VISION = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}


def save_siglip(folder: Path, image_size: int = 64, patch_size: int = 8, with_text_tower: bool = True) -> Path:
    torch.manual_seed(1)
    vision = SiglipVisionConfig(**SMALL_VISION, image_size=image_size, patch_size=patch_size)
    if with_text_tower:
        text = {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 4,
            "vocab_size": 100,
            "max_position_embeddings": 16,
        }
        model = SiglipModel(SiglipConfig(vision_config=vision.to_dict(), text_config=text))
    else:
        from transformers import SiglipVisionModel

        model = SiglipVisionModel(vision)
    model.save_pretrained(folder)
    return folder


def save_causal_lm(folder: Path, model_type: str, tie: bool = True, **overrides) -> Path:
    """A random causal LM with the tiny tokenizer (which the LLM's vocab matches)."""
    torch.manual_seed(2)
    tokenizer = train_tiny_tokenizer()
    tokenizer.chat_template = None  # like a base LLM: composition must install one
    kwargs = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 1000,  # fewer rows than the tokenizer: composition must grow them
        "tie_word_embeddings": tie,
        "max_position_embeddings": 2048,
    }
    if model_type == "gemma":
        kwargs["head_dim"] = 8
    kwargs.update(overrides)
    config = AutoConfig.for_model(model_type, **kwargs)
    model = AutoModelForCausalLM.from_config(config)
    if not tie:
        with torch.no_grad():
            model.lm_head.weight.normal_(0, 1.0)  # clearly different from the embeddings
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
