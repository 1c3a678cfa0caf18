"""Entry point of the `ayavision` command: mounts one sub-command group per concern."""

from __future__ import annotations

import typer

from ayavision.cli.annotate import annotate_app
from ayavision.cli.data import data_app
from ayavision.cli.evaluate import eval_app
from ayavision.cli.merge import register_merge_commands
from ayavision.cli.model import register_model_commands
from ayavision.cli.recipe import register_recipe_commands
from ayavision.cli.train import register_train_commands
from ayavision.cli.world import world_app

app = typer.Typer(
    name="ayavision",
    help="Build, train, merge and evaluate multilingual vision-language models the Aya Vision way.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
register_model_commands(app)
register_merge_commands(app)
register_train_commands(app)
register_recipe_commands(app)
app.add_typer(data_app, name="data", help="The conversation data format: validate, import, convert.")
app.add_typer(
    annotate_app, name="annotate", help="Synthetic annotation: recaption, filter, translate, rephrase, metrics."
)
app.add_typer(eval_app, name="eval", help="Evaluate: answers, pairwise LLM-judge win rates, academic scores, reports.")
app.add_typer(world_app, name="world", help="The shapes world: demo data, tiny pretrained parts, measurements.")


if __name__ == "__main__":
    app()
