"""Recipe files: the shipped ones validate and plan; mistakes are named with their file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ayavision.cli.main import app
from ayavision.recipe.artifacts import AnnotateArtifact, Inputs
from ayavision.recipe.config import RecipeError, load_recipe

REPO = Path(__file__).parents[2]
runner = CliRunner()


@pytest.mark.parametrize("name", ["aya-vision-8b", "aya-vision-32b"])
def test_paper_recipes_dry_run(name, tmp_path):
    result = runner.invoke(app, ["run", str(REPO / "recipes" / f"{name}.yaml"), "--dry-run", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for stage in ("data", "annotate", "model", "align", "sft", "merge", "evaluate", "report"):
        assert stage in result.output
    assert not any(tmp_path.iterdir())  # a dry run computes and writes nothing
    recipe, run = load_recipe(REPO / "recipes" / f"{name}.yaml", tmp_path)
    assert recipe.train.stages["sft"].mixture == {"original": 0.34, "synthetic_en": 0.31, "multilingual": 0.35}
    assert recipe.train.stages["align"].mixture["multilingual"] == 0.14
    assert recipe.merge.alpha == 0.4
    # The buckets name annotate's outputs; the engine fills them in from its artifact (a JSONL step writes data.jsonl).
    steps = {step.name: step.config.step for step in recipe.annotate.steps if step.config.step != "metrics"}
    annotated = AnnotateArtifact(
        input=run / "data", datasets={n: run / "annotate" / n / "data.jsonl" for n in steps}, kinds=steps
    )
    recipe = Inputs(annotate=annotated).resolve(recipe)
    assert recipe.train.buckets["multilingual"].paths == [run / "annotate" / "rephrase" / "data.jsonl"]


def test_recipe_mistakes_name_the_field(tmp_path):
    text = (REPO / "recipes" / "aya-vision-8b.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("alpha: 0.4 ", "alpha: 1.4 "))
    with pytest.raises(RecipeError, match=r"bad.yaml: merge.alpha"):
        load_recipe(bad, tmp_path / "run")
    bad.write_text(text.replace("    sft:                        #", "    sftt:                       #"))
    with pytest.raises(RecipeError, match=r"bad.yaml: train: .*stages.sftt: not one of"):
        load_recipe(bad, tmp_path / "run")
    bad.write_text(text.replace("name: aya-vision-8b\n", "name: x\nplugins: [no.such.module]\n", 1))
    with pytest.raises(RecipeError, match=r"cannot import 'no\.such\.module'"):
        load_recipe(bad, tmp_path / "run")
    bad.write_text(text.replace("  original: /path/to/original-short-answers", "  source: nowhere"))
    with pytest.raises(RecipeError, match=r"data\.source 'nowhere' is not registered"):
        load_recipe(bad, tmp_path / "run")
    result = runner.invoke(app, ["run", str(bad), "--dry-run"])
    assert result.exit_code == 2 and "nowhere" in result.output


def test_the_real_llm_experiment_recipe_plans_on_smollm2_and_ships_its_text_skill_set(tmp_path):
    path = REPO / "recipes" / "experiments" / "real-llm-merge.yaml"
    result = runner.invoke(app, ["run", str(path), "--dry-run", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    recipe, _ = load_recipe(path, tmp_path)
    assert recipe.model.llm.checkpoint == Path.home() / ".cache/ayavision/real-models/smollm2-135m-instruct"
    assert recipe.text_llm() == recipe.model.llm.checkpoint  # the merge goes back to SmolLM2 itself
    skills = next(b for b in recipe.evaluate.benches if b.name == "text-skills")
    assert skills.path == path.parent / "text-skills.jsonl"
