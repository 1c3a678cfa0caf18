"""Typed settings of the world's generators and of its tiny pretrained parts (unknown keys are refused)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ayavision.errors import ConfigError
from ayavision.languages import LANGUAGES, nllb_code
from ayavision.utils import config
from ayavision.world.scene import SceneConfig
from ayavision.world.tasks import WORLD_TASKS

ALL_LANGUAGES: tuple[str, ...] = tuple(lang.nllb for lang in LANGUAGES)


class Strict(config.FrozenStrict):
    """The world's settings: frozen, and fingerprinted to key what they generate."""

    def fingerprint(self) -> str:
        """A digest of every setting: what a cached output is keyed by."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _languages(value: Any) -> tuple[str, ...]:
    if value == "all":
        return ALL_LANGUAGES
    if isinstance(value, str):
        value = [value]
    codes = tuple(nllb_code(code) for code in value)
    if not codes:
        raise ValueError("name at least one language")
    if len(set(codes)) != len(codes):
        raise ValueError("a language is listed twice")
    return codes


class DatasetConfig(Strict):
    """A shapes-world dataset in the conversation format: ``n`` records over the given tasks and languages."""

    n: int = Field(ge=1)
    seed: int = 0
    tasks: tuple[str, ...] = WORLD_TASKS
    languages: tuple[str, ...] = ("eng_Latn",)
    bucket: str | None = Field(None, description="default: original for English records, multilingual otherwise")
    questions: int = Field(
        1,
        ge=1,
        le=8,
        description="questions asked about the image of a vqa or counting record, one turn each (captions and the "
        "other tasks ask one): more answers to learn from per image",
    )
    scene: SceneConfig = SceneConfig()

    @field_validator("tasks", mode="before")
    @classmethod
    def _tasks(cls, value: Any) -> Any:
        value = list(WORLD_TASKS) if value == "all" else ([value] if isinstance(value, str) else value)
        unknown = set(value) - set(WORLD_TASKS)
        if unknown:
            raise ValueError(f"unknown task(s) {sorted(unknown)}; world tasks: {', '.join(WORLD_TASKS)}")
        return tuple(value)

    @field_validator("languages", mode="before")
    @classmethod
    def _langs(cls, value: Any) -> tuple[str, ...]:
        return _languages(value)


class TextTaskConfig(Strict):
    """The text-only task: questions answered from a written scene description, in every language."""

    n: int = Field(ge=1)
    seed: int = 0
    languages: tuple[str, ...] = ALL_LANGUAGES
    min_objects: int = Field(2, ge=1, le=6)
    max_objects: int = Field(4, ge=1, le=6)
    questions: tuple[str, ...] = ("ask_colour", "ask_size", "ask_where")
    # "word": the value alone ("rouge"); "sentence": the fact that answers it ("Couleur du cercle : rouge."),
    # which a small model learns much sooner (the value then follows a phrase it has just copied).
    answer_style: Literal["word", "sentence"] = "word"

    @field_validator("languages", mode="before")
    @classmethod
    def _langs(cls, value: Any) -> tuple[str, ...]:
        return _languages(value)

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        allowed = {"ask_colour", "ask_size", "ask_where", "ask_shape_by_colour", "ask_count_all"}
        if set(value) - allowed or not value:
            raise ValueError(f"text-task questions come from {sorted(allowed)}")
        return value


class ConfigFileError(ConfigError):
    """A world config file that cannot be read or does not validate."""


def load_config(path: str | Path, model: type[Strict]) -> Strict:
    """A YAML file validated as ``model``; errors name the file and the field."""
    return config.load_config(path, model, error=ConfigFileError, what="world config", empty_ok=True)
