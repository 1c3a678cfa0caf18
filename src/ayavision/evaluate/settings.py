"""Typed settings of answer generation and judging; unknown keys are refused so a typo cannot pass unnoticed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ayavision.errors import ConfigError
from ayavision.utils.errors import format_validation_error


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GenerationSettings(_Settings):
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


class JudgeSettings(_Settings):
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


class ScoreSettings(_Settings):
    """How academic answers are scored."""

    unparsed: Literal["wrong", "random"] = Field(
        "wrong", description="an unreadable multiple-choice answer counts as wrong, or as a seeded random option"
    )
    seed: int = Field(0, description="seed of the random option (per item, independent of order)")


S = TypeVar("S", bound=_Settings)


def load_settings(cls: type[S], path: str | Path | None = None, **overrides: Any) -> S:
    """Settings from a YAML/JSON file (optional) with ``overrides`` (``None`` values ignored) on top."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: settings file not found") from None
        try:
            loaded = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as err:
            raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {err}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of settings, got {type(loaded).__name__}")
        values.update(loaded or {})
    values.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return cls(**values)
    except ValidationError as err:
        where = f"{path}: " if path is not None else ""
        raise ConfigError(f"{where}{format_validation_error(err)}") from None
