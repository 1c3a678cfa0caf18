"""`ayavision sweep`: variants of one recipe, each in its own run folder, sharing every stage they have in common.

A sweep file names a base recipe and variants as dotted overrides (the `--set` syntax as a mapping):

    base: recipes/demo.yaml
    variants:
      ml-17: {train.stages.sft.mixture: {original: 0.34, synthetic_en: 0.485, multilingual: 0.175}}
      ml-35: {}

Each variant runs as a recipe in ``OUT/<variant>/``. A stage's fingerprint covers its settings and everything
upstream, with paths inside the run folder counted relative to it, so two variants share a fingerprint exactly
where a stage would compute the same thing. Before a variant runs, every stage whose fingerprint another variant
has finished is copied into its folder (hard links where the file system allows: no second copy of a model) and
the engine reuses it. Variants run in the order of the file; an interrupted sweep continues where it stopped, as
a recipe run does.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from ayavision.recipe.config import RecipeConfig, RecipeError, load_recipe
from ayavision.recipe.engine import DONE, PlanItem, RunReport, Stage, execute, plan
from ayavision.recipe.stages import build_stages
from ayavision.utils.config import Strict, load_config

SWEEP_RECORD = "sweep.json"


class SweepConfig(Strict):
    base: Path = Field(description="the recipe every variant starts from (relative to the sweep file)")
    variants: dict[str, dict[str, Any]] = Field(min_length=1, description="name -> {dotted.key: value}")

    @field_validator("variants")
    @classmethod
    def _names(cls, variants: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name in variants:
            if not name or "/" in name or name.startswith(".") or name == "report":
                raise ValueError(f"{name!r} cannot name a variant (it becomes a folder; 'report' is the sweep's)")
        return {name: dict(overrides or {}) for name, overrides in variants.items()}


@dataclass
class Variant:
    name: str
    overrides: list[tuple[str, Any]]
    recipe: RecipeConfig
    run: Path
    stages: list[Stage]


@dataclass
class VariantPlan:
    variant: Variant
    items: list[PlanItem]
    shared: dict[str, str] = field(default_factory=dict)  # stage -> the variant it is taken from


@dataclass
class SweepReport:
    out: Path
    variants: dict[str, RunReport] = field(default_factory=dict)
    shared: dict[str, dict[str, str]] = field(default_factory=dict)


def load_sweep(path: str | Path, out: str | Path | None = None) -> tuple[list[Variant], Path]:
    """Every variant's validated recipe and run folder (default sweep folder: runs/sweeps/<file stem>)."""
    path = Path(path)
    config = load_config(path, SweepConfig, error=RecipeError, what="sweep file")
    base = config.base
    folder = Path(out).resolve() if out is not None else (Path.cwd() / "runs" / "sweeps" / path.stem).resolve()
    variants = []
    for name, overrides in config.variants.items():
        pairs = list(overrides.items())
        try:
            recipe, run = load_recipe(base, folder / name, pairs)
        except RecipeError as err:
            raise RecipeError(f"{path}: variants.{name}: {err}") from None
        variants.append(Variant(name, pairs, recipe, run, build_stages(recipe, run)))
    return variants, folder


def plan_sweep(variants: list[Variant]) -> list[VariantPlan]:
    """What each variant would run and what it would take from another (finished, or run earlier in the sweep)."""
    available = _finished(variants)
    plans = []
    for variant in variants:
        items = plan(variant.stages, variant.run)
        shared = {}
        for item in items:
            source = available.get(item.fingerprint)
            if item.action != "reuse" and source is not None and source[0] != variant.name:
                shared[item.stage.name] = source[0]
            available.setdefault(item.fingerprint, (variant.name, variant.run / item.stage.name))
        plans.append(VariantPlan(variant, items, shared))
    return plans


def run_sweep(variants: list[Variant], out: Path, log: Callable[[str], None] = print) -> SweepReport:
    """Run every variant in order, each taking the stages another has finished; then the comparison report."""
    from ayavision.recipe.compare import write_comparison

    out.mkdir(parents=True, exist_ok=True)
    report = SweepReport(out)
    for variant in variants:
        shared = {}
        available = _finished([v for v in variants if v is not variant])
        took = True
        while took:  # again after each take: a stage's fingerprint covers the taken outputs it names
            took = False
            for item in plan(variant.stages, variant.run):
                source = available.get(item.fingerprint)
                if item.action == "reuse" or source is None or item.stage.name in shared:
                    continue
                _take(source[1], variant.run / item.stage.name)
                shared[item.stage.name] = source[0]
                took = True
        if shared:
            names = ", ".join(shared)
            origins = ", ".join(sorted(set(shared.values())))
            log(f"[{variant.name}] reused {names} (finished by {origins})")
        result = execute(variant.stages, variant.run, log=lambda line, v=variant.name: log(f"[{v}] {line}"))
        report.variants[variant.name] = result
        report.shared[variant.name] = shared
        log(
            f"[{variant.name}] ran {', '.join(result.ran) or 'nothing'}; reused {', '.join(result.reused) or 'nothing'}"
        )
    write_comparison([(v.name, v.recipe, v.run, v.overrides) for v in variants], out / "report")
    # A rerun takes nothing over (every stage is its own by then): keep what earlier runs of the sweep took.
    try:
        earlier = json.loads((out / SWEEP_RECORD).read_text(encoding="utf-8")).get("shared", {})
    except (OSError, ValueError):
        earlier = {}
    shared = {v.name: report.shared.get(v.name) or earlier.get(v.name, {}) for v in variants}
    (out / SWEEP_RECORD).write_text(
        json.dumps({"variants": {v.name: dict(v.overrides) for v in variants}, "shared": shared}, indent=1),
        encoding="utf-8",
    )
    return report


def _finished(variants: list[Variant]) -> dict[str, tuple[str, Path]]:
    """fingerprint -> (variant, stage folder) for every finished stage of these variants."""
    found: dict[str, tuple[str, Path]] = {}
    for variant in variants:
        for stage in variant.stages:
            folder = variant.run / stage.name
            try:
                done = json.loads((folder / DONE).read_text(encoding="utf-8"))["fingerprint"]
            except (OSError, ValueError, KeyError):
                continue
            found.setdefault(done, (variant.name, folder))
    return found


def _take(source: Path, target: Path) -> None:
    """Copy a finished stage folder, hard-linking its files where possible; DONE is written last."""
    if target.exists():
        shutil.rmtree(target)
    staging = target.with_name(f".{target.name}.taking")
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(source, staging, copy_function=_link_or_copy, ignore=shutil.ignore_patterns(DONE))
    shutil.copy2(source / DONE, staging / DONE)
    staging.rename(target)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
