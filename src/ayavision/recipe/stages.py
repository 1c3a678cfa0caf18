"""The recipe's stages: data -> annotate -> model -> align -> sft -> merge -> evaluate -> report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ayavision.recipe.config import DATA_SOURCES, RecipeConfig, RecipeError
from ayavision.recipe.engine import Stage, StageContext

# Conventional places inside the run folder, so that recipes can name them with {run}.
ORIGINAL = "data/original"
VLM = "model/vlm"
TRAINED = "train"  # inside align/ and sft/
SWEEP = "merge/sweep"


def original_dataset(recipe: RecipeConfig, run: Path) -> Path:
    return recipe.data.original if recipe.data.original is not None else run / ORIGINAL


def build_stages(recipe: RecipeConfig, run: Path) -> list[Stage]:
    def dump(value: Any) -> Any:
        return json.loads(value.model_dump_json()) if hasattr(value, "model_dump_json") else value

    stages = [Stage("data", lambda ctx: _data(recipe, ctx), lambda: dump(recipe.data), (), "prepare the original data")]
    data_needs: tuple[str, ...] = ("data",)
    if recipe.annotate is not None:
        stages.append(
            Stage(
                "annotate",
                lambda ctx: _annotate(recipe, ctx, run),
                lambda: dump(recipe.annotate),
                ("data",),
                "recaption, filter, translate, rephrase, measure",
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
        ),
        Stage(
            "align",
            lambda ctx: _train(recipe, "align", run / VLM, ctx),
            lambda: {"train": _stage_settings(recipe, "align"), "buckets": dump(recipe.train.buckets)},
            ("model", *data_needs),
            "stage 1: train the connector",
        ),
        Stage(
            "sft",
            lambda ctx: _train(recipe, "sft", run / "align" / TRAINED, ctx),
            lambda: {"train": _stage_settings(recipe, "sft"), "buckets": dump(recipe.train.buckets)},
            ("align",),
            "stage 2: train connector and LLM",
        ),
        Stage(
            "merge",
            lambda ctx: _merge(recipe, run, ctx),
            lambda: dump(recipe.merge),
            ("sft",),
            "merge the text LLM back in, for every alpha",
        ),
        Stage(
            "evaluate",
            lambda ctx: _evaluate(recipe, run, ctx),
            lambda: dump(recipe.evaluate),
            ("merge",),
            "accuracies and win rates",
        ),
        Stage(
            "report",
            lambda ctx: _report(recipe, run, ctx),
            lambda: {"version": 1},
            ("evaluate", "align", "sft", *data_needs),
            "write report.md, figures and report.html",
        ),
    ]
    return stages


def _stage_settings(recipe: RecipeConfig, name: str) -> dict:
    if name not in recipe.train.stages:
        raise RecipeError(f"train.stages: the recipe needs a stage named {name!r}")
    # num_workers changes how fast batches are made, never which: a finished stage stays valid when it changes.
    return json.loads(recipe.train.stages[name].model_dump_json(exclude={"num_workers"}))


def _data(recipe: RecipeConfig, ctx: StageContext) -> dict:
    from ayavision.data import DataError, validate_dataset

    if recipe.data.source is not None:
        return DATA_SOURCES[recipe.data.source](recipe.data.options, ctx.folder)
    report = validate_dataset(recipe.data.original)
    if not report.ok:
        first = "; ".join(f"{p.location}: {p.message}" for p in report.problems[:5])
        raise DataError(f"data.original: {len(report.problems)} problem(s), e.g. {first}")
    return {"records": report.records_checked}


def _annotate(recipe: RecipeConfig, ctx: StageContext, run: Path) -> dict:
    from ayavision.annotate import PipelineConfig, run_pipeline

    section = recipe.annotate
    assert section is not None
    config = PipelineConfig(
        input=original_dataset(recipe, run),
        out=ctx.folder,
        backends=section.backends,
        steps=section.steps,
        executor=section.executor,
        plugins=recipe.plugins,
    )
    result = run_pipeline(config, progress=False)
    return {
        "steps": {name: _step_counts(step) for name, step in result.steps.items()},
        "datasets": {name: str(path) for name, path in result.datasets.items()},
    }


def _step_counts(step) -> dict:
    summary = getattr(step, "summary", None)
    if isinstance(summary, dict):
        return {key: summary[key] for key in ("kept", "dropped", "failed", "total") if key in summary}
    return {}


def _model(recipe: RecipeConfig, ctx: StageContext) -> dict:
    from ayavision.model.compose import compose
    from ayavision.model.store import save_composed

    composed = compose(recipe.model)
    save_composed(composed, ctx.folder / "vlm", recipe.model, overwrite=True)
    params = sum(p.numel() for p in composed.model.parameters())
    return {
        "parameters": params,
        "missing": len(composed.report.missing),
        "unexpected": len(composed.report.unexpected),
    }


def _train(recipe: RecipeConfig, stage: str, init: Path, ctx: StageContext) -> dict:
    from ayavision.train.trainer import train_stage

    # resume=True: an interrupted stage continues from its last checkpoint (the engine keeps its folder).
    result = train_stage(recipe.train, stage, ctx.folder / TRAINED, init=init, resume=True, quiet=True)
    losses = result.losses
    return {
        "steps": result.steps,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
    }


def _merge(recipe: RecipeConfig, run: Path, ctx: StageContext) -> dict:
    from ayavision.merge import merge_sweep

    outcome = merge_sweep(
        run / "sft" / TRAINED / "model",
        recipe.text_llm(),
        ctx.folder / "sweep",
        recipe.merge.alphas,
        method=recipe.merge.method,
        overwrite=True,
    )
    return {"alphas": recipe.merge.alphas, "seconds": getattr(outcome, "seconds", None)}


def _evaluate(recipe: RecipeConfig, run: Path, ctx: StageContext) -> dict:
    from ayavision.recipe.evaluation import evaluate_recipe

    return evaluate_recipe(recipe, run, ctx.folder)


def _report(recipe: RecipeConfig, run: Path, ctx: StageContext) -> dict:
    from ayavision.recipe.report import write_recipe_report

    return write_recipe_report(recipe, run, ctx.folder)
