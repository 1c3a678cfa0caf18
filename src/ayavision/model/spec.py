"""The typed description of a model to compose: which encoder, which LLM, the connector and the tiling."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ayavision.errors import ConfigError
from ayavision.utils.config import PathText, Strict, load_config

DType = Literal["float32", "bfloat16", "float16"]


class VisionSpec(Strict):
    """A SigLIP / SigLIP2 encoder: a checkpoint folder, or an inline `SiglipVisionConfig`."""

    checkpoint: Path | None = None
    config: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> VisionSpec:
        if (self.checkpoint is None) == (self.config is None):
            raise ValueError("give exactly one of 'checkpoint' (a folder) or 'config' (inline encoder config)")
        return self


class LLMSpec(Strict):
    """Any causal LM transformers knows: a checkpoint folder, or an inline config with a `model_type`."""

    checkpoint: Path | None = None
    config: dict[str, Any] | None = None
    # A folder with a tokenizer, or "tiny" (trained locally); default: the checkpoint folder.
    tokenizer: Annotated[str | None, PathText(keep=frozenset({"tiny"}))] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> LLMSpec:
        if (self.checkpoint is None) == (self.config is None):
            raise ValueError("give exactly one of 'checkpoint' (a folder) or 'config' (inline LLM config)")
        if self.config is not None and "model_type" not in self.config:
            raise ValueError("an inline LLM config needs a 'model_type' (e.g. cohere2, llama, qwen2, gemma)")
        return self


class ConnectorSpec(Strict):
    """Pixel shuffle then LayerNorm -> Linear -> SwiGLU -> Linear."""

    downsample_factor: int = Field(2, ge=1, description="pixel-shuffle factor; tokens per tile shrink by its square")
    # Width of the first linear layer; SwiGLU halves it. The released 8B uses 28672.
    intermediate_size: int | None = Field(None, ge=2)
    layer_norm_eps: float = 1e-6
    # A pixel-shuffled token concatenates downsample_factor**2 neighbouring patch states; drawn independently, the
    # first linear layer starts reading each slot differently. Tied, it starts as one map applied to their sum,
    # and a feature means the same in any slot (measured with the lookup toy: docs/demo/README.md).
    tie_shuffled_patches: bool = Field(
        False, description="start linear_1 with the same weights for every patch a pixel-shuffled token concatenates"
    )

    @model_validator(mode="after")
    def _even(self) -> ConnectorSpec:
        if self.intermediate_size is not None and self.intermediate_size % 2:
            raise ValueError("connector.intermediate_size must be even: SwiGLU splits it into value and gate halves")
        return self


class TilingSpec(Strict):
    """How the GotOcr2 image processor cuts an image into tiles."""

    tile_size: int | None = Field(None, ge=1, description="pixels per tile side; default: the encoder's image size")
    min_tiles: int = Field(1, ge=1)
    max_tiles: int = Field(12, ge=1, le=12, description="at most 12: the tokenizer has TILE_1..TILE_12")

    @model_validator(mode="after")
    def _ordered(self) -> TilingSpec:
        if self.min_tiles > self.max_tiles:
            raise ValueError(f"tiling.min_tiles ({self.min_tiles}) exceeds tiling.max_tiles ({self.max_tiles})")
        return self


class ModelSpec(Strict):
    """Everything `build-model` needs. Either compose (vision + llm) or start from an AyaVision `base` folder."""

    name: str = "ayavision-model"
    dtype: DType = "float32"
    seed: int = 0
    base: Path | None = None
    vision: VisionSpec | None = None
    llm: LLMSpec | None = None
    connector: ConnectorSpec = ConnectorSpec()
    tiling: TilingSpec = TilingSpec()

    @model_validator(mode="after")
    def _compose_or_base(self) -> ModelSpec:
        if self.base is not None and (self.vision is not None or self.llm is not None):
            raise ValueError("'base' (an existing AyaVision folder) excludes 'vision' and 'llm'")
        if self.base is None and (self.vision is None or self.llm is None):
            raise ValueError("give both 'vision' and 'llm' (or 'base': an existing AyaVision folder)")
        return self


class SpecError(ConfigError):
    """A model config file that cannot be read or does not validate; the message names the file and field."""


def load_spec(path: str | Path) -> ModelSpec:
    """Read a YAML (or JSON) model config; relative checkpoint paths are resolved against the file's folder."""
    return load_config(path, ModelSpec, error=SpecError, what="model config")
