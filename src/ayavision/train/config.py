"""Typed training recipes: the data buckets, and each stage as an object saying what trains and how."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ayavision.errors import ConfigError
from ayavision.utils.config import Strict, load_config

Part = Literal["vision_tower", "connector", "language_model"]
LossWeighting = Literal["token", "square", "sample"]
# What each named stage trains; the paper's stage 1 trains the connector only, stage 2 connector + LLM.
STAGE_PARTS: dict[str, tuple[Part, ...]] = {
    "align": ("connector",),
    "sft": ("connector", "language_model"),
    "full": ("vision_tower", "connector", "language_model"),
}


class BucketConfig(Strict):
    """A named pool of samples (e.g. synthetic English, multilingual, original) read from dataset shards."""

    paths: list[Path] = Field(min_length=1)
    # Inside the bucket, draw languages uniformly (the paper's multilingual bucket) instead of by record count.
    uniform_languages: bool = False


class LoraConfig(Strict):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )


class StageConfig(Strict):
    """One training stage: which parts train, with which hyper-parameters, on which mixture."""

    train: list[Part] | None = None  # default: the parts STAGE_PARTS names for the stage
    lr: dict[Part, float] = Field(default_factory=lambda: {"connector": 1e-4, "language_model": 1e-4})
    warmup_steps: int = Field(200, ge=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="cosine decays to this fraction of the peak")
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float | None = Field(1.0, gt=0)
    global_batch: int = Field(128, ge=1, description="packed rows per optimizer step, over all processes")
    micro_batch: int = Field(1, ge=1, description="rows per forward pass on one process")
    max_steps: int | None = Field(None, ge=1)
    epochs: float | None = Field(None, gt=0)
    seq_len: int = Field(8192, ge=16)
    packing: bool = True
    pack_buffer: int = Field(64, ge=1, description="samples held back to fill rows (first fit)")
    overflow: Literal["truncate", "skip"] = "truncate"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    gradient_checkpointing: bool = False
    lora: LoraConfig | None = None
    mixture: dict[str, float] = Field(min_length=1, description="bucket name -> share of samples")
    loss_weighting: LossWeighting = Field(
        "token",
        description=(
            "how a global batch's supervised tokens share the loss: token (each token alike, as LLaVA and the paper "
            "train; long answers dominate), sample (each sample alike, its tokens sharing its weight) or square "
            "(a sample's tokens weigh 1/sqrt(its token count), InternVL 2.5's compromise)"
        ),
    )
    save_every: int = Field(500, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    log_every: int = Field(1, ge=1)
    seed: int = 0
    num_workers: Annotated[int, Field(ge=0)] | Literal["auto"] = Field(
        "auto",
        description=(
            "data worker processes per training process, planning samples and decoding and tiling images; 0: a "
            "background thread of the training process; auto: the process's share of the cores minus one for the "
            "training loop (at most 8), or 0 when that leaves fewer than 2. Any value gives the same batches."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> StageConfig:
        if (self.max_steps is None) == (self.epochs is None):
            raise ValueError("give exactly one of max_steps or epochs")
        if any(share < 0 for share in self.mixture.values()) or sum(self.mixture.values()) <= 0:
            raise ValueError("mixture shares must be >= 0 and sum to more than 0")
        if self.lora is not None and self.train is not None and "language_model" not in self.train:
            raise ValueError("lora adapts the language model, which this stage does not train")
        return self

    def parts(self, stage: str) -> tuple[Part, ...]:
        return tuple(self.train) if self.train is not None else STAGE_PARTS[stage]


class TrainRecipe(Strict):
    """The `train:` part of a recipe file: buckets shared by the stages, and the stages by name."""

    buckets: dict[str, BucketConfig] = Field(min_length=1)
    stages: dict[str, StageConfig] = Field(min_length=1)
    init: Path | None = None  # the model to start stage `align` from, if --init is not given

    @model_validator(mode="after")
    def _known(self) -> TrainRecipe:
        for name, stage in self.stages.items():
            if name not in STAGE_PARTS and stage.train is None:
                raise ValueError(f"stages.{name}: not one of {sorted(STAGE_PARTS)}; say which parts it trains")
            unknown = sorted(set(stage.mixture) - set(self.buckets))
            if unknown:
                raise ValueError(f"stages.{name}.mixture: unknown buckets {unknown}; defined: {sorted(self.buckets)}")
            missing_lr = [p for p in stage.parts(name) if p not in stage.lr]
            if missing_lr:
                raise ValueError(f"stages.{name}.lr: no learning rate for trained part(s) {missing_lr}")
        return self


class RecipeError(ConfigError):
    """A recipe (or its train section alone) that cannot be read or does not validate; names the file and field.

    The one recipe error: `ayavision.recipe.config` raises this class too.
    """


def load_train_recipe(path: str | Path) -> TrainRecipe:
    """Read the `train:` section of a recipe file (or a file that is only that section)."""
    return load_config(path, TrainRecipe, section="train", error=RecipeError, what="recipe file")
