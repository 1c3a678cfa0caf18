"""CLI commands `ayavision run` (a recipe end to end) and `ayavision demo` (the shapes-world recipe)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ayavision.cli.common import console, fail, user_errors


def run(
    recipe: Path = typer.Argument(..., help="a recipe YAML (see recipes/)"),
    out: Path | None = typer.Option(None, "--out", help="run folder (default: runs/<recipe name>)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and print the plan; compute nothing"),
    only: str | None = typer.Option(None, "--only", help="run just this stage (its inputs must be up to date)"),
    start: str | None = typer.Option(None, "--from", help="rerun from this stage on"),
    set_: list[str] | None = typer.Option(
        None, "--set", help="dotted.key=value, a one-off change validated like the file (repeatable)"
    ),
) -> None:
    """Run the whole recipe: data, annotate, model, align, sft, merge, evaluate, report; reuse what is unchanged."""
    from ayavision.recipe.engine import RecipeRunError
    from ayavision.recipe.overrides import parse_override
    from ayavision.recipe.run import plan_recipe, run_recipe

    with user_errors():
        overrides = [parse_override(text) for text in set_ or []]
        items, run_dir = plan_recipe(recipe, out, only, start, overrides)
    table = Table(title=f"plan for {run_dir}")
    for column in ("stage", "action", "fingerprint", "what"):
        table.add_column(column)
    for item in items:
        table.add_row(item.stage.name, item.action, item.fingerprint, item.stage.description)
    console.print(table)
    if dry_run:
        return
    with user_errors():
        try:
            report, run_dir = run_recipe(
                recipe, out, only, start, log=lambda line: console.print(line, markup=False), overrides=overrides
            )
        except RecipeRunError as err:
            fail(f"{err} (fix it and run again: finished stages are kept)")
    console.print(
        f"[green]done[/]: ran {', '.join(report.ran) or 'nothing'}; reused {', '.join(report.reused) or 'nothing'}"
    )
    report_file = run_dir / "report" / "report.md"
    if report_file.exists():
        console.print(f"report: {report_file}")


def demo(
    quick: bool = typer.Option(False, "--quick", help="a smaller run (minutes), as the tests use"),
    out: Path | None = typer.Option(None, "--out", help="run folder (default: runs/demo or runs/demo-quick)"),
    dry_run: bool = typer.Option(False, "--dry-run"),
) -> None:
    """The whole recipe on the shapes world, on a laptop CPU: `ayavision run recipes/demo.yaml`."""
    from ayavision.recipe.run import demo_recipe

    with user_errors():
        path = demo_recipe(quick)
    run(path, out, dry_run, None, None, None)


def sweep(
    sweep_file: Path = typer.Argument(..., help="a sweep YAML: a base recipe and named variants as dotted overrides"),
    out: Path | None = typer.Option(None, "--out", help="sweep folder (default: runs/sweeps/<file name>)"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="print what each variant would run or reuse; compute nothing"
    ),
) -> None:
    """Run recipe variants, each in its own folder, sharing every stage they have in common; compare them."""
    from ayavision.recipe.engine import RecipeRunError
    from ayavision.recipe.sweep import load_sweep, plan_sweep, run_sweep

    with user_errors():
        variants, folder = load_sweep(sweep_file, out)
        plans = plan_sweep(variants)
    table = Table(title=f"sweep plan for {folder}")
    for column in ("variant", "runs", "reuses its own", "takes from another variant"):
        table.add_column(column)
    for entry in plans:
        own = [i.stage.name for i in entry.items if i.action == "reuse"]
        runs = [i.stage.name for i in entry.items if i.action != "reuse" and i.stage.name not in entry.shared]
        shared = [f"{stage} ({source})" for stage, source in entry.shared.items()]
        table.add_row(entry.variant.name, ", ".join(runs) or "–", ", ".join(own) or "–", ", ".join(shared) or "–")
    console.print(table)
    if dry_run:
        return
    with user_errors():
        try:
            run_sweep(variants, folder, log=lambda line: console.print(line, markup=False))
        except RecipeRunError as err:
            fail(f"{err} (fix it and run the sweep again: finished stages are kept)")
    console.print(f"[green]done[/]: comparison report {folder / 'report' / 'report.md'}")


def register_recipe_commands(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("demo")(demo)
    app.command("sweep")(sweep)
