"""The recipe file: every stage's settings in one typed, validated document."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ayavision.annotate.config import BackendSpec, ExecutorConfig, LocalExecutorConfig, PipelineStep
from ayavision.evaluate.settings import GenerationSettings, JudgeSettings, ScoreSettings
from ayavision.model.spec import ModelSpec
from ayavision.recipe.overrides import Override, OverrideError, apply_overrides
from ayavision.train.config import RecipeError, TrainRecipe
from ayavision.utils.errors import format_validation_error
from ayavision.utils.yamlfile import read_yaml_mapping

RUN_PLACEHOLDER = "{run}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataSection(_Strict):
    """Where the original (short-answer) data comes from: dataset paths, or a registered data source."""

    original: Path | None = Field(None, description="a dataset (file or folder of shards) in the conversation format")
    source: str | None = Field(None, description="a data source a plug-in registered, e.g. shapes-world")
    options: dict[str, Any] = Field(default_factory=dict, description="the data source's own settings")

    @model_validator(mode="after")
    def _one(self) -> DataSection:
        if bool(self.original) == bool(self.source):
            raise ValueError("give either 'original' (dataset paths) or 'source' (a registered data source)")
        return self


class AnnotateSection(_Strict):
    """The annotation pipeline, as in `ayavision annotate run`, minus input and out (the runner sets them)."""

    backends: dict[str, BackendSpec] = Field(default_factory=dict)
    steps: list[PipelineStep] = Field(min_length=1)
    executor: ExecutorConfig = Field(default_factory=LocalExecutorConfig)


class MergeSection(_Strict):
    alphas: list[float] = Field(default_factory=lambda: [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    alpha: float = Field(0.4, ge=0, le=1, description="the merge the recipe ships (the paper's 0.4)")
    method: Literal["linear", "slerp"] = "linear"
    text_llm: Path | None = Field(None, description="the text LLM to merge back in; default: the model's LLM")

    @model_validator(mode="after")
    def _shipped_in_sweep(self) -> MergeSection:
        if self.alpha not in self.alphas:
            self.alphas = sorted({*self.alphas, self.alpha})
        return self


class BenchSpec(_Strict):
    """One evaluation: a registered benchmark read from local files."""

    name: str = Field(description="the benchmark's registry name (see `ayavision eval benchmarks`)")
    path: Path
    kind: Literal["academic", "pairwise"]
    languages: list[str] | None = None


class EvaluateSection(_Strict):
    benches: list[BenchSpec] = Field(default_factory=list)
    judge: BackendSpec | None = Field(None, description="backend for pairwise judging")
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    judging: JudgeSettings = Field(default_factory=JudgeSettings)
    scoring: ScoreSettings = Field(default_factory=ScoreSettings)

    @model_validator(mode="after")
    def _judge_when_pairwise(self) -> EvaluateSection:
        if any(b.kind == "pairwise" for b in self.benches) and self.judge is None:
            raise ValueError("a pairwise benchmark needs a 'judge' backend")
        return self


class RecipeConfig(_Strict):
    name: str
    plugins: list[str] = Field(default_factory=list, description="modules imported first (they register things)")
    data: DataSection
    annotate: AnnotateSection | None = None
    model: ModelSpec
    train: TrainRecipe
    merge: MergeSection = Field(default_factory=MergeSection)
    evaluate: EvaluateSection = Field(default_factory=EvaluateSection)

    def text_llm(self) -> Path:
        if self.merge.text_llm is not None:
            return self.merge.text_llm
        if self.model.llm is not None and self.model.llm.checkpoint is not None:
            return self.model.llm.checkpoint
        raise RecipeError("merge.text_llm: the model's LLM is not a checkpoint folder; say which text LLM to merge")


# Data sources registered by plug-ins: name -> function(options, out_folder) -> summary dict, and the typed
# model of their options (checked when the recipe loads, so a dry run catches a bad option).
DataSource = Callable[[dict[str, Any], Path], dict[str, Any]]
DATA_SOURCES: dict[str, DataSource] = {}
DATA_SOURCE_OPTIONS: dict[str, type[BaseModel]] = {}


def register_data_source(name: str, options: type[BaseModel] | None = None) -> Callable[[DataSource], DataSource]:
    def decorate(function: DataSource) -> DataSource:
        DATA_SOURCES[name] = function
        if options is not None:
            DATA_SOURCE_OPTIONS[name] = options
        return function

    return decorate


def load_recipe(
    path: str | Path, run_dir: str | Path | None = None, overrides: Sequence[Override] = ()
) -> tuple[RecipeConfig, Path]:
    """Read a recipe, with ``overrides`` (dotted key, value) set first; `{run}` in any string becomes the run
    folder (default: runs/<name>). Errors name the file, and the `--set` keys when there are any."""
    path = Path(path)
    raw = read_yaml_mapping(path, RecipeError, "recipe file")
    try:
        raw = apply_overrides(raw, overrides)
    except OverrideError as err:
        raise RecipeError(f"{path}: {err}") from None
    label = f"{path} (with --set {', '.join(key for key, _ in overrides)})" if overrides else str(path)
    if "name" not in raw:
        raise RecipeError(f"{label}: a recipe is a mapping with at least a 'name'")
    base = path.resolve().parent
    run = Path(run_dir).resolve() if run_dir is not None else (Path.cwd() / "runs" / str(raw["name"])).resolve()
    for module in raw.get("plugins") or []:
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise RecipeError(f"{label}: plugins: cannot import {module!r}: {err}") from None
    raw = _substitute(raw, str(run))
    try:
        recipe = RecipeConfig.model_validate(raw)
    except ValidationError as err:
        raise RecipeError(f"{label}: {format_validation_error(err)}") from None
    if recipe.data.source is not None and recipe.data.source not in DATA_SOURCES:
        known = ", ".join(sorted(DATA_SOURCES)) or "none (add a plug-in under 'plugins')"
        raise RecipeError(f"{label}: data.source {recipe.data.source!r} is not registered; known: {known}")
    options = DATA_SOURCE_OPTIONS.get(recipe.data.source or "")
    if options is not None:
        try:
            options.model_validate(recipe.data.options)
        except ValidationError as err:
            raise RecipeError(f"{label}: data.options: {format_validation_error(err)}") from None
    return _resolve_paths(recipe, base), run


def _substitute(value: Any, run: str) -> Any:
    if isinstance(value, str):
        return value.replace(RUN_PLACEHOLDER, run)
    if isinstance(value, dict):
        return {key: _substitute(item, run) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, run) for item in value]
    return value


def _resolve_paths(recipe: RecipeConfig, base: Path) -> RecipeConfig:
    """Relative paths in a recipe are relative to the recipe file, as in the other config files; ``~`` is home."""

    def absolute(p: Path | None) -> Path | None:
        if p is None:
            return None
        p = p.expanduser()
        return p if p.is_absolute() else (base / p).resolve()

    data = recipe.data.model_copy(update={"original": absolute(recipe.data.original)})
    model = recipe.model
    update: dict[str, Any] = {"base": absolute(model.base)}
    if model.vision is not None:
        update["vision"] = model.vision.model_copy(update={"checkpoint": absolute(model.vision.checkpoint)})
    if model.llm is not None:
        tokenizer = model.llm.tokenizer
        if tokenizer not in (None, "tiny") and not Path(tokenizer).is_absolute():
            tokenizer = str(absolute(Path(tokenizer)))
        update["llm"] = model.llm.model_copy(
            update={"checkpoint": absolute(model.llm.checkpoint), "tokenizer": tokenizer}
        )
    buckets = {
        name: bucket.model_copy(update={"paths": [absolute(p) for p in bucket.paths]})
        for name, bucket in recipe.train.buckets.items()
    }
    benches = [b.model_copy(update={"path": absolute(b.path)}) for b in recipe.evaluate.benches]
    return recipe.model_copy(
        update={
            "data": data,
            "model": model.model_copy(update=update),
            "train": recipe.train.model_copy(update={"buckets": buckets}),
            "merge": recipe.merge.model_copy(update={"text_llm": absolute(recipe.merge.text_llm)}),
            "evaluate": recipe.evaluate.model_copy(update={"benches": benches}),
        }
    )
