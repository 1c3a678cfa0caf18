"""Typed settings of answer generation and judging; unknown keys are refused so a typo cannot pass unnoticed."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationError

from ayavision.errors import ConfigError
from ayavision.utils.config import FrozenStrict, load_config
from ayavision.utils.errors import format_validation_error


class GenerationSettings(FrozenStrict):
    """How answers are generated. Greedy unless ``temperature`` > 0."""

    max_new_tokens: int = Field(1024, ge=1, description="longest answer, in tokens")
    temperature: float = Field(0.0, ge=0.0, description="0 = greedy decoding")
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    seed: int | None = Field(None, description="sampling seed (endpoints that support it)")
    batch_size: int = Field(8, ge=1, description="items per batch for a local model")
    concurrency: int = Field(16, ge=1, description="requests in flight to an endpoint")
    max_pixels: int = Field(2**28, ge=1, description="largest image accepted, in pixels")
    max_consecutive_failures: int = Field(20, ge=1, description="stop after this many failed requests in a row")

    def identity(self) -> dict[str, Any]:
        """The settings that determine an answer (batching and concurrency do not)."""
        return {
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
        }


class JudgeSettings(FrozenStrict):
    """How pairs are judged and scored."""

    max_tokens: int = Field(2048, ge=16, description="longest judge reply, in tokens")
    temperature: float = Field(0.0, ge=0.0)
    reask: bool = Field(True, description="ask once more when a reply holds no readable verdict")
    strong_weight: int = Field(1, ge=1, description="games a strong verdict (A>>B) counts for; arena-hard uses 3")
    concurrency: int = Field(16, ge=1, description="judgments in flight")
    max_consecutive_failures: int = Field(20, ge=1, description="stop after this many failed requests in a row")
    bootstrap_samples: int = Field(1000, ge=100)
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    seed: int = Field(0, description="seed of the bootstrap")
    max_pixels: int = Field(2**28, ge=1)

    def identity(self) -> dict[str, Any]:
        """The settings that determine a judgment (scoring and scheduling settings do not)."""
        return {"max_tokens": self.max_tokens, "temperature": self.temperature}


class ScoreSettings(FrozenStrict):
    """How academic answers are scored."""

    unparsed: Literal["wrong", "random"] = Field(
        "wrong", description="an unreadable multiple-choice answer counts as wrong, or as a seeded random option"
    )
    seed: int = Field(0, description="seed of the random option (per item, independent of order)")


S = TypeVar("S", bound=FrozenStrict)


def load_settings(cls: type[S], path: str | Path | None = None, **overrides: Any) -> S:
    """Settings from a YAML/JSON file (optional) with ``overrides`` (``None`` values ignored) on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: settings file not found")
        return load_config(path, cls, prepare=lambda raw: {**raw, **given}, what="settings file", empty_ok=True)
    try:
        return cls(**given)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err)) from None
