"""The recipe file: every stage's settings in one typed, validated document."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from ayavision.annotate.config import BackendSpec, PipelineStep
from ayavision.errors import ConfigError
from ayavision.evaluate.settings import GenerationSettings, JudgeSettings, ScoreSettings
from ayavision.jobs.config import ExecutorConfig, LocalExecutorConfig
from ayavision.model.spec import ModelSpec
from ayavision.train.config import RecipeError, TrainRecipe
from ayavision.utils.config import Strict, load_config
from ayavision.utils.errors import format_validation_error
from ayavision.utils.overrides import Override
from ayavision.utils.plugins import listed_plugins, load_plugins
from ayavision.utils.registry import Registry

RUN_PLACEHOLDER = "{run}"


class DataSection(Strict):
    """Where the original (short-answer) data comes from: dataset paths, or a registered data source."""

    original: Path | None = Field(None, description="a dataset (file or folder of shards) in the conversation format")
    source: str | None = Field(None, description="a data source a plug-in registered, e.g. shapes-world")
    options: dict[str, Any] = Field(default_factory=dict, description="the data source's own settings")

    @model_validator(mode="after")
    def _one(self) -> DataSection:
        if bool(self.original) == bool(self.source):
            raise ValueError("give either 'original' (dataset paths) or 'source' (a registered data source)")
        return self


class AnnotateSection(Strict):
    """The annotation pipeline, as in `ayavision annotate run`, minus input and out (the runner sets them)."""

    backends: dict[str, BackendSpec] = Field(default_factory=dict)
    steps: list[PipelineStep] = Field(min_length=1)
    executor: ExecutorConfig = Field(default_factory=LocalExecutorConfig)


class MergeSection(Strict):
    alphas: list[float] = Field(default_factory=lambda: [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    alpha: float = Field(0.4, ge=0, le=1, description="the merge the recipe ships (the paper's 0.4)")
    method: Literal["linear", "slerp"] = "linear"
    text_llm: Path | None = Field(None, description="the text LLM to merge back in; default: the model's LLM")

    @model_validator(mode="after")
    def _shipped_in_sweep(self) -> MergeSection:
        if self.alpha not in self.alphas:
            self.alphas = sorted({*self.alphas, self.alpha})
        return self


class BenchSpec(Strict):
    """One evaluation: a registered benchmark read from local files."""

    name: str = Field(description="the benchmark's registry name (see `ayavision eval benchmarks`)")
    path: Path
    kind: Literal["academic", "pairwise"]
    languages: list[str] | None = None


class EvaluateSection(Strict):
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


class RecipeConfig(Strict):
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


# Data sources registered by plug-ins: name -> function(options, out_folder) -> its DataArtifact (what it wrote:
# original, benchmarks, parts; or just a summary dict, its outputs then found by the usual layout), and the typed
# model of their options (checked when the recipe loads, so a dry run catches a bad option).
DataSource = Callable[[dict[str, Any], Path], Any]
DATA_SOURCES: Registry[DataSource] = Registry("data source")
DATA_SOURCE_OPTIONS: Registry[type[BaseModel]] = Registry("data source options")


def register_data_source(name: str, options: type[BaseModel] | None = None) -> Callable[[DataSource], DataSource]:
    def decorate(function: DataSource) -> DataSource:
        DATA_SOURCES.add(name, function)
        if options is not None:
            DATA_SOURCE_OPTIONS.add(name, options)
        return function

    return decorate


def load_recipe(
    path: str | Path, run_dir: str | Path | None = None, overrides: Sequence[Override] = ()
) -> tuple[RecipeConfig, Path]:
    """Read a recipe, with ``overrides`` (dotted key, value) set first; `{run}` in any string becomes the run
    folder (default: runs/<name>): a deprecated way to name a stage's outputs, kept working for existing recipes
    (name them ``{stage.key}`` instead, see ``artifacts``). Errors name the file, and the `--set` keys when there
    are any."""
    path = Path(path)
    label = f"{path} (with --set {', '.join(key for key, _ in overrides)})" if overrides else str(path)
    run = Path(run_dir).resolve() if run_dir is not None else None

    def prepare(raw: dict[str, Any]) -> dict[str, Any]:
        nonlocal run
        if "name" not in raw:
            raise ConfigError("a recipe is a mapping with at least a 'name'")
        if run is None:
            run = (Path.cwd() / "runs" / str(raw["name"])).resolve()
        load_plugins(listed_plugins(raw), "plugins")  # they register the data sources and steps the recipe names
        return _substitute(raw, str(run))

    recipe = load_config(
        path, RecipeConfig, overrides=overrides, prepare=prepare, error=RecipeError, what="recipe file"
    )
    assert run is not None
    if recipe.data.source is not None and recipe.data.source not in DATA_SOURCES:
        known = ", ".join(DATA_SOURCES.names()) or "none (add a plug-in under 'plugins')"
        raise RecipeError(f"{label}: data.source {recipe.data.source!r} is not registered; known: {known}")
    options = DATA_SOURCE_OPTIONS.get(recipe.data.source or "", None)
    if options is not None:
        try:
            options.model_validate(recipe.data.options)
        except ValidationError as err:
            raise RecipeError(f"{label}: data.options: {format_validation_error(err)}") from None
    return recipe, run


def _substitute(value: Any, run: str) -> Any:
    if isinstance(value, str):
        return value.replace(RUN_PLACEHOLDER, run)
    if isinstance(value, dict):
        return {key: _substitute(item, run) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, run) for item in value]
    return value
