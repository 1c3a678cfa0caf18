"""Typed configurations of steps, backends, executors and pipelines; unknown keys are refused everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SerializeAsAny, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ayavision.annotate.registry import STEPS
from ayavision.backends.spec import BackendSpec
from ayavision.jobs.config import ExecutorConfig, LocalExecutorConfig
from ayavision.languages import ENGLISH, UnknownLanguageError, nllb_code, non_english
from ayavision.utils.config import Strict


class StepOptions(Strict):
    """Settings every model-calling step shares."""

    template_dir: Path | None = Field(None, description="folder of .txt templates that replace the built-in ones")
    max_tokens: int = Field(1024, ge=1, description="explicit answer budget (no silent 128-token default)")
    temperature: float = Field(0.0, ge=0)
    max_attempts: int = Field(3, ge=1, description="generations per request before giving up on its answer")
    retry_temperature: float = Field(0.7, ge=0, description="sampling temperature of the regenerations")


# Which template recaptions which task; tasks without one are dropped with that reason in the ledger.
DEFAULT_TASK_TEMPLATES: dict[str, str] = {
    "vqa": "vqa",
    "captioning": "captioning",
    "ocr": "ocr",
    "chart": "chart",
    "table": "table",
    "reasoning": "reasoning",
    "textbook": "textbook",
    "multi_image": "difference",
}


class RecaptionConfig(StepOptions):
    step: Literal["recaption"] = "recaption"
    task_templates: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_TASK_TEMPLATES))


class RulesConfig(Strict):
    """Stage (a) of the filter: keyword rules. The lists extend the built-in ones."""

    refusal_phrases: list[str] = Field(default_factory=list)
    prompt_phrases: list[str] = Field(default_factory=list)
    min_words: int = Field(1, ge=0)
    drop_truncated: bool = True


class FilterConfig(StepOptions):
    step: Literal["filter"] = "filter"
    rules: RulesConfig = Field(default_factory=RulesConfig)
    judge: bool = Field(True, description="stage (b): an LLM judge checks each recaption against the original")
    max_tokens: int = Field(16, ge=1, description="the judge answers YES or NO")


class TranslateConfig(StepOptions):
    step: Literal["translate"] = "translate"
    languages: list[str] | Literal["all"] = Field("all", description="NLLB or ISO codes; 'all' = the 22 non-English")
    languages_per_record: int = Field(1, ge=1, description="target languages drawn per record, uniformly")
    seed: int = 0
    source_language: str = ENGLISH
    max_attempts: int = Field(1, ge=1)

    @field_validator("source_language")
    @classmethod
    def _known_source(cls, code: str) -> str:
        return nllb_code(code)

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str] | str) -> list[str] | str:
        if value == "all":
            return value
        if not value:
            raise ValueError("name at least one language")
        codes = []
        for code in value:
            try:
                codes.append(nllb_code(code))
            except UnknownLanguageError as err:
                raise ValueError(str(err)) from None
        if len(set(codes)) != len(codes):
            raise ValueError("a language is listed twice")
        return codes

    @model_validator(mode="after")
    def _enough_languages(self) -> TranslateConfig:
        targets = self.target_languages()
        if self.source_language in targets:
            raise ValueError(f"the source language {self.source_language} cannot also be a target")
        if self.languages_per_record > len(targets):
            raise ValueError(f"languages_per_record={self.languages_per_record} but only {len(targets)} language(s)")
        return self

    def target_languages(self) -> list[str]:
        if self.languages == "all":
            return [lang.nllb for lang in non_english() if lang.nllb != self.source_language]
        return list(self.languages)


class RephraseConfig(StepOptions):
    step: Literal["rephrase"] = "rephrase"


class CometConfig(Strict):
    """COMET runs in another environment (unbabel-comet needs transformers < 5) through a subprocess."""

    python: Path = Field(description="the python of the environment that has unbabel-comet installed")
    model: str = Field(description="a local COMET checkpoint (e.g. a downloaded cometkiwi .ckpt)")
    batch_size: int = Field(16, ge=1)
    gpus: int = Field(0, ge=0)


class MetricsConfig(Strict):
    step: Literal["metrics"] = "metrics"
    tokenizer: str | None = Field(None, description="an HF tokenizer folder that counts answer tokens")
    mtld_threshold: float = Field(0.72, gt=0, lt=1)
    comet: CometConfig | None = None


# A step's config: the config model of the step its ``step`` field names, built-in or from a plug-in (see
# ``PipelineStep``). Serialised as what it is, not as the bare ``BaseModel`` the field is typed with.
StepConfig = SerializeAsAny[BaseModel]
METRICS_STEP = "metrics"  # measured by the pipeline itself, not a registered step


def step_config_type(name: str) -> type[BaseModel]:
    """The config model of the step called ``name``; ``ConfigError`` naming the steps there are if none is."""
    return MetricsConfig if name == METRICS_STEP else STEPS.get(name).config_type


def step_names() -> list[str]:
    return sorted([METRICS_STEP, *STEPS.names()])


class RunOptions(Strict):
    """How a step runs, as opposed to what it computes (none of these change its output)."""

    overwrite: bool = Field(False, description="start the step afresh (the request cache is kept)")
    retry_failed: bool = Field(
        False, description="also redo failures that are not retryable (retryable ones are always redone on resume)"
    )
    cache_dir: Path | None = Field(None, description="request cache folder (default: OUT/cache); share across runs")
    progress: bool = True
    max_consecutive_failures: int = Field(
        200, ge=1, description="stop the step when this many records in a row fail (a server down, say)"
    )
    output_format: Literal["auto", "jsonl", "parquet"] = "auto"


class PipelineStep(Strict):
    """One entry of ``steps:`` in a pipeline file: a step configuration plus the backend it calls."""

    id: str | None = Field(None, description="folder name under out/ (default: the step name)")
    backend: str | None = Field(None, description="a name from the pipeline's backends")
    config: StepConfig

    @model_validator(mode="before")
    @classmethod
    def _split(cls, raw: Any) -> Any:
        # In YAML a step is one flat mapping: {step: recaption, backend: teacher, max_tokens: 1024}.
        if isinstance(raw, dict) and "config" not in raw:
            raw = dict(raw)
            outer = {key: raw.pop(key) for key in ("id", "backend") if key in raw}
            return {**outer, "config": raw}
        return raw

    @field_validator("config", mode="before")
    @classmethod
    def _by_step(cls, raw: Any) -> Any:
        # The registry, not a closed union, says which steps there are: a plug-in's step validates here too, by its
        # own config model. The errors are those pydantic gives for a union discriminated by ``step``.
        name = raw.get("step") if isinstance(raw, dict) else getattr(raw, "step", None)
        if name is None:
            raise PydanticCustomError(
                "union_tag_not_found",
                "Unable to extract tag using discriminator {discriminator}",
                {"discriminator": "'step'"},
            )
        if not isinstance(name, str) or (name != METRICS_STEP and name not in STEPS):
            raise PydanticCustomError(
                "union_tag_invalid",
                "Input tag {tag} found using {discriminator} does not match any of the expected tags: {expected_tags}",
                {"tag": repr(name), "discriminator": "'step'", "expected_tags": ", ".join(map(repr, step_names()))},
            )
        config_type = step_config_type(name)
        if isinstance(raw, BaseModel) and not isinstance(raw, config_type):
            raise ValueError(f"step {name!r} takes a {config_type.__name__}, not a {type(raw).__name__}")
        return raw if isinstance(raw, BaseModel) else config_type.model_validate(raw)

    @property
    def name(self) -> str:
        return self.id or self.config.step  # type: ignore[attr-defined]


class PipelineConfig(Strict):
    input: Path
    out: Path
    backends: dict[str, BackendSpec] = Field(default_factory=dict)
    steps: list[PipelineStep] = Field(min_length=1)
    executor: ExecutorConfig = Field(default_factory=LocalExecutorConfig)
    plugins: list[str] = Field(default_factory=list, description="modules imported first (they register backends)")
    cache_dir: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PipelineConfig:
        names = [step.name for step in self.steps]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"two steps are named {name!r}; give one an 'id'")
        for step in self.steps:
            kind = step.config.step  # type: ignore[attr-defined]
            needs_backend = kind != METRICS_STEP and STEPS.get(kind).needs_backend(step.config)
            if step.backend is None and needs_backend:
                known = ", ".join(self.backends) or "none"
                raise ValueError(f"step {step.name!r} needs a 'backend' (one of: {known})")
            if step.backend is not None and step.backend not in self.backends:
                known = ", ".join(self.backends) or "none"
                raise ValueError(f"step {step.name!r} names backend {step.backend!r}, not among: {known}")
        return self
