"""The recipe's stages: data -> annotate -> model -> align -> sft -> merge -> evaluate -> report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ayavision.recipe.artifacts import (
    AnnotateArtifact,
    DataArtifact,
    EvaluateArtifact,
    MergeArtifact,
    ModelArtifact,
    ReportArtifact,
    TrainArtifact,
    dataset_format,
    references_in,
)
from ayavision.recipe.config import DATA_SOURCES, RecipeConfig, RecipeError
from ayavision.recipe.engine import Stage, StageContext

# Where each stage writes inside its own folder. Other stages and recipes never rebuild these paths: they read the
# stage's artifact (recipes name its outputs as {stage.key}, see artifacts).
VLM = "vlm"  # inside model/
TRAINED = "train"  # inside align/ and sft/
SWEEP = "sweep"  # inside merge/
STAGE_NAMES = ("data", "annotate", "model", "align", "sft", "merge", "evaluate", "report")


def build_stages(recipe: RecipeConfig, run: Path) -> list[Stage]:
    def dump(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: dump(item) for key, item in value.items()}
        return json.loads(value.model_dump_json()) if hasattr(value, "model_dump_json") else value

    stages = [
        Stage(
            "data",
            lambda ctx: _data(recipe, ctx),
            lambda: dump(recipe.data),
            (),
            "prepare the original data",
            DataArtifact,
        )
    ]
    data_needs: tuple[str, ...] = ("data",)
    if recipe.annotate is not None:
        stages.append(
            Stage(
                "annotate",
                lambda ctx: _annotate(recipe, ctx),
                lambda: dump(recipe.annotate),
                ("data",),
                "recaption, filter, translate, rephrase, measure",
                AnnotateArtifact,
            )
        )
        data_needs = ("data", "annotate")
    stages += [
        Stage(
            "model",
            lambda ctx: _model(recipe, ctx),
            lambda: dump(recipe.model),
            ("data",),
            "compose the VLM from its encoder and LLM",
            ModelArtifact,
        ),
        Stage(
            "align",
            lambda ctx: _train(recipe, "align", _required(ctx.inputs.model, "model").vlm, ctx),
            lambda: {"train": _stage_settings(recipe, "align"), "buckets": dump(recipe.train.buckets)},
            ("model", *data_needs),
            "stage 1: train the connector",
            TrainArtifact,
        ),
        Stage(
            "sft",
            lambda ctx: _train(recipe, "sft", _required(ctx.inputs.train("align"), "align").folder, ctx),
            lambda: {"train": _stage_settings(recipe, "sft"), "buckets": dump(recipe.train.buckets)},
            ("align",),
            "stage 2: train connector and LLM",
            TrainArtifact,
        ),
        Stage(
            "merge",
            lambda ctx: _merge(recipe, ctx),
            lambda: dump(recipe.merge),
            ("sft",),
            "merge the text LLM back in, for every alpha",
            MergeArtifact,
        ),
        Stage(
            "evaluate",
            lambda ctx: _evaluate(recipe, ctx),
            lambda: dump(recipe.evaluate),
            ("merge",),
            "accuracies and win rates",
            EvaluateArtifact,
        ),
        Stage(
            "report",
            lambda ctx: _report(recipe, ctx),
            lambda: {"version": 1},
            ("evaluate", "align", "sft", *data_needs),
            "write report.md, figures and report.html",
            ReportArtifact,
        ),
    ]
    built = {stage.name for stage in stages}
    for name, key in references_in(json.loads(recipe.model_dump_json())):
        if name in STAGE_NAMES and name not in built:
            raise RecipeError(f"{{{name}.{key}}}: this recipe has no {name!r} stage (add its section)")
    return stages


def _required(artifact: Any, stage: str) -> Any:
    if artifact is None:
        raise RecipeError(f"stage {stage!r} has not recorded its outputs; rerun it (--from {stage})")
    return artifact


def _stage_settings(recipe: RecipeConfig, name: str) -> dict:
    if name not in recipe.train.stages:
        raise RecipeError(f"train.stages: the recipe needs a stage named {name!r}")
    # num_workers changes how fast batches are made, never which: a finished stage stays valid when it changes.
    return json.loads(recipe.train.stages[name].model_dump_json(exclude={"num_workers"}))


def _data(recipe: RecipeConfig, ctx: StageContext) -> DataArtifact:
    from ayavision.data import DataError, validate_dataset

    if recipe.data.source is not None:
        result = DATA_SOURCES[recipe.data.source](recipe.data.options, ctx.folder)
        # A data source returns its artifact, or only a summary: then its outputs are found by the usual layout.
        return result if isinstance(result, DataArtifact) else DataArtifact.discover(ctx.folder, dict(result or {}))
    original = recipe.data.original
    assert original is not None
    report = validate_dataset(original)
    if not report.ok:
        first = "; ".join(f"{p.location}: {p.message}" for p in report.problems[:5])
        raise DataError(f"data.original: {len(report.problems)} problem(s), e.g. {first}")
    return DataArtifact(original=original, format=dataset_format(original), summary={"records": report.records_checked})


def _annotate(recipe: RecipeConfig, ctx: StageContext) -> AnnotateArtifact:
    from ayavision.annotate import PipelineConfig, run_pipeline

    data = _required(ctx.inputs.data, "data")
    section = ctx.resolve(recipe.annotate, "annotate")
    assert section is not None
    config = PipelineConfig(
        input=data.original,
        out=ctx.folder,
        backends=section.backends,
        steps=section.steps,
        executor=section.executor,
        plugins=recipe.plugins,
    )
    result = run_pipeline(config, progress=False)
    datasets = {name: Path(path) for name, path in result.datasets.items() if name != "input"}
    return AnnotateArtifact(
        input=data.original,
        datasets=datasets,
        kinds={step.name: step.config.step for step in section.steps},
        metrics={name: ctx.folder / name / "metrics.json" for name in result.metrics},
        final=next(reversed(datasets), None),
        summary={"steps": {name: _step_counts(step) for name, step in result.steps.items()}},
    )


def _step_counts(step) -> dict:
    summary = getattr(step, "summary", None)
    if isinstance(summary, dict):
        return {key: summary[key] for key in ("kept", "dropped", "failed", "total") if key in summary}
    return {}


def _model(recipe: RecipeConfig, ctx: StageContext) -> ModelArtifact:
    from ayavision.model.compose import compose
    from ayavision.model.store import save_composed

    spec = ctx.resolve(recipe.model, "model")
    composed = compose(spec)
    save_composed(composed, ctx.folder / VLM, spec, overwrite=True)
    params = sum(p.numel() for p in composed.model.parameters())
    return ModelArtifact(
        vlm=ctx.folder / VLM,
        summary={
            "parameters": params,
            "missing": len(composed.report.missing),
            "unexpected": len(composed.report.unexpected),
        },
    )


def _train(recipe: RecipeConfig, stage: str, init: Path, ctx: StageContext) -> TrainArtifact:
    from ayavision.train.trainer import train_stage

    out = ctx.folder / TRAINED
    # resume=True: an interrupted stage continues from its last checkpoint (the engine keeps its folder).
    result = train_stage(ctx.resolve(recipe.train, "train"), stage, out, init=init, resume=True, quiet=True)
    losses = result.losses
    return TrainArtifact(
        folder=out,
        model=out / "model",
        metrics=out / "metrics.jsonl",
        summary={
            "steps": result.steps,
            "first_loss": losses[0] if losses else None,
            "last_loss": losses[-1] if losses else None,
        },
    )


def _merge(recipe: RecipeConfig, ctx: StageContext) -> MergeArtifact:
    from ayavision.merge import alpha_folder_name, merge_sweep

    sft = _required(ctx.inputs.train("sft"), "sft")
    text_llm = ctx.resolve(recipe, "merge").text_llm()
    outcome = merge_sweep(
        sft.model, text_llm, ctx.folder / SWEEP, recipe.merge.alphas, method=recipe.merge.method, overwrite=True
    )
    return MergeArtifact(
        models={alpha_folder_name(a): ctx.folder / SWEEP / alpha_folder_name(a) for a in recipe.merge.alphas},
        chosen=alpha_folder_name(recipe.merge.alpha),
        text_llm=text_llm,
        summary={"alphas": recipe.merge.alphas, "seconds": getattr(outcome, "seconds", None)},
    )


def _evaluate(recipe: RecipeConfig, ctx: StageContext) -> EvaluateArtifact:
    from ayavision.recipe.evaluation import SUMMARY, evaluate_recipe

    merge = _required(ctx.inputs.merge, "merge")
    summary = evaluate_recipe(ctx.resolve(recipe, "evaluate"), merge, ctx.folder)
    return EvaluateArtifact(folder=ctx.folder, results=ctx.folder / SUMMARY, summary=summary)


def _report(recipe: RecipeConfig, ctx: StageContext) -> ReportArtifact:
    from ayavision.recipe.report import write_recipe_report

    headline = write_recipe_report(ctx.resolve(recipe, "report"), ctx.inputs, ctx.folder)
    return ReportArtifact(
        markdown=ctx.folder / "report.md",
        html=ctx.folder / "report.html",
        headline=ctx.folder / "headline.json",
        summary=headline,
    )
