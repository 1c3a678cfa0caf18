"""Named model specs: `tiny` for laptops and tests, and the shapes of the released Aya Vision 8B and 32B."""

from __future__ import annotations

from ayavision.errors import AyaVisionError
from ayavision.model.spec import ConnectorSpec, LLMSpec, ModelSpec, TilingSpec, VisionSpec

# SigLIP2-so400m: the encoder of both released models (hidden 1152, MLP 4304, 27 layers, 16 heads).
_SO400M = {"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27, "num_attention_heads": 16}

PRESETS: dict[str, ModelSpec] = {
    "tiny": ModelSpec(
        name="tiny",
        dtype="float32",
        vision=VisionSpec(
            config={
                "hidden_size": 64,
                "intermediate_size": 128,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "patch_size": 8,
                "image_size": 64,
            }
        ),
        llm=LLMSpec(
            config={
                "model_type": "cohere2",
                "hidden_size": 64,
                "intermediate_size": 128,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "num_key_value_heads": 2,
                "max_position_embeddings": 4096,
                "sliding_window": 512,
                # The AyaVision head does not apply Cohere's logit_scale; 1.0 keeps the text LLM and the VLM equal.
                "logit_scale": 1.0,
            },
            tokenizer="tiny",
        ),
        connector=ConnectorSpec(downsample_factor=2, intermediate_size=256),
        tiling=TilingSpec(tile_size=64, min_tiles=1, max_tiles=12),
    ),
    "aya-vision-8b": ModelSpec(
        name="aya-vision-8b",
        dtype="bfloat16",
        vision=VisionSpec(config={**_SO400M, "patch_size": 14, "image_size": 364}),
        llm=LLMSpec(
            config={
                "model_type": "cohere2",
                "hidden_size": 4096,
                "intermediate_size": 14336,
                "num_hidden_layers": 32,
                "num_attention_heads": 32,
                "num_key_value_heads": 8,
                "vocab_size": 256000,
                "rope_theta": 50000.0,
                "logit_scale": 0.25,
                "max_position_embeddings": 16384,
            }
        ),
        connector=ConnectorSpec(downsample_factor=2, intermediate_size=28672),
        tiling=TilingSpec(tile_size=364, min_tiles=1, max_tiles=12),
    ),
    "aya-vision-32b": ModelSpec(
        name="aya-vision-32b",
        dtype="bfloat16",
        vision=VisionSpec(config={**_SO400M, "patch_size": 16, "image_size": 512}),
        llm=LLMSpec(
            config={
                "model_type": "cohere",
                "hidden_size": 8192,
                "intermediate_size": 24576,
                "num_hidden_layers": 40,
                "num_attention_heads": 64,
                "num_key_value_heads": 8,
                "vocab_size": 256000,
                "logit_scale": 0.0625,
                "max_position_embeddings": 16384,
            }
        ),
        connector=ConnectorSpec(downsample_factor=2, intermediate_size=49152),
        tiling=TilingSpec(tile_size=512, min_tiles=1, max_tiles=12),
    ),
}


class UnknownPresetError(AyaVisionError, KeyError):
    def __str__(self) -> str:
        return f"unknown preset {self.args[0]!r}; presets: {', '.join(PRESETS)}"


def get_preset(name: str) -> ModelSpec:
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPresetError(name) from None
