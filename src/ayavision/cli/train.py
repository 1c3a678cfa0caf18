"""CLI command `ayavision train`: one stage of the recipe (align, sft, ...) with accelerate."""

from __future__ import annotations

from pathlib import Path

import typer

from ayavision.cli.common import console, user_errors


def train(
    config: Path = typer.Option(..., "--config", help="a recipe YAML with a `train:` section (or only that)"),
    stage: str = typer.Option(..., "--stage", help="align | sft | full | a stage named in the recipe"),
    out: Path = typer.Option(..., "--out", help="the stage's output folder"),
    init: Path | None = typer.Option(None, "--init", help="model to start from (build-model or a previous stage)"),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="override the stage's length"),
    resume: bool = typer.Option(False, "--resume", help="continue from the latest checkpoint in --out"),
    peak_tflops: float | None = typer.Option(None, "--peak-tflops", help="per-device peak, for the MFU estimate"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
) -> None:
    """Train one stage. Launch with `accelerate launch -m ayavision.cli.main train ...` for several processes."""
    from ayavision.train.config import load_train_recipe
    from ayavision.train.trainer import train_stage

    with user_errors():
        recipe = load_train_recipe(config)
        result = train_stage(
            recipe, stage, out, init=init, max_steps=max_steps, resume=resume, peak_tflops=peak_tflops, quiet=quiet
        )
    if result.losses:
        console.print(
            f"[green]trained[/] {stage}: {result.steps} steps, loss {result.losses[0]:.4f} -> "
            f"{result.losses[-1]:.4f}; model in {result.model_dir}"
        )


def register_train_commands(app: typer.Typer) -> None:
    app.command("train")(train)
