"""Run a recipe file end to end (or print its plan), and the demo recipes shipped with the project."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ayavision.recipe.config import load_recipe
from ayavision.recipe.engine import PlanItem, RunReport, execute, plan
from ayavision.recipe.overrides import Override
from ayavision.recipe.stages import build_stages

# The demo recipes ship inside the package (so `ayavision demo` works from a wheel); recipes/ links to them.
DEMOS = Path(__file__).resolve().parent / "demos"


def demo_recipe(quick: bool) -> Path:
    path = DEMOS / ("demo-quick.yaml" if quick else "demo.yaml")
    if not path.exists():
        raise FileNotFoundError(f"{path}: the demo recipe is missing from this installation of ayavision")
    return path


def plan_recipe(
    path: str | Path,
    out: str | Path | None = None,
    only: str | None = None,
    start: str | None = None,
    overrides: Sequence[Override] = (),
) -> tuple[list[PlanItem], Path]:
    """Validate the whole recipe and decide what would run; computes nothing."""
    recipe, run = load_recipe(path, out, overrides)
    stages = build_stages(recipe, run)
    for stage in stages:
        stage.settings()  # every stage's settings resolve (e.g. the train stages it needs exist)
    return plan(stages, run, only, start), run


def run_recipe(
    path: str | Path,
    out: str | Path | None = None,
    only: str | None = None,
    start: str | None = None,
    log: Callable[[str], None] = print,
    overrides: Sequence[Override] = (),
) -> tuple[RunReport, Path]:
    recipe, run = load_recipe(path, out, overrides)
    return execute(build_stages(recipe, run), run, only, start, log=log), run
