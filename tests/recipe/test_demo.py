"""`ayavision demo --quick`: the whole recipe on the shapes world, every stage, the report and its figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ayavision.cli.main import app
from ayavision.recipe.engine import DONE
from ayavision.recipe.run import demo_recipe, plan_recipe

STAGES = ["data", "annotate", "model", "align", "sft", "merge", "evaluate", "report"]


@pytest.mark.parametrize("quick", [True, False])
def test_the_demo_recipes_validate_and_plan_every_stage(tmp_path, quick):
    items, _ = plan_recipe(demo_recipe(quick), tmp_path / "run")
    assert [item.stage.name for item in items] == STAGES
    assert {item.action for item in items} == {"run"}


def test_the_repositorys_recipes_folder_links_to_the_packaged_demos():
    recipes = Path(__file__).resolve().parents[2] / "recipes"
    for quick, name in ((False, "demo.yaml"), (True, "demo-quick.yaml")):
        assert (recipes / name).resolve() == demo_recipe(quick).resolve()


@pytest.mark.slow
def test_demo_quick_runs_every_stage_and_writes_the_report(tmp_path):
    run = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(run)])
    assert result.exit_code == 0, result.output
    for stage in STAGES:
        assert (run / stage / DONE).exists(), stage
    report = run / "report"
    text = (report / "report.md").read_text(encoding="utf-8")
    for figure in ("data.png", "loss.png", "sweep.png", "winrate-world-vqa.png"):
        assert (report / figure).stat().st_size > 1000, figure
        assert f"({figure})" in text
    assert "precision" in text and "chrF" in text
    assert re.search(r"- sft: \d+ steps, .*seconds per step p50 [\d.]+, p95 [\d.]+, max [\d.]+", text)
    assert text.count("data:image/png;base64") == 0  # the markdown links; the HTML embeds
    assert (report / "report.html").read_text(encoding="utf-8").count("data:image/png;base64") >= 4
    headline = json.loads((report / "headline.json").read_text(encoding="utf-8"))
    for bench in ("world-vqa", "world-text"):
        assert set(headline[bench]) == {"text_llm", "unmerged", "merged"}
    assert headline["world-text"]["text_llm"] is not None
    assert 0.0 <= headline["world-vqa_win_rate"] <= 1.0
    assert headline["filter"]["corrupted"] > 0 and headline["filter"]["recall"] is not None
    assert headline["chrf"]["chrf_rephrased"] > headline["chrf"]["chrf_mt"]
    # world-vqa per language and per question kind, each against its guess level.
    languages = headline["world-vqa_languages_above_guess"]
    assert languages["languages"] > 10 and 0 <= languages["unmerged"] <= languages["languages"]
    table = text.split("| language | unmerged | alpha 0.4 | guess |")[1].split("\n\n")[0]
    row = r"^\| [a-z]{3}_[A-Z][a-z]{3} \| [\d.]+ \| [\d.]+ \| 0\.\d\d \|$"
    assert len(re.findall(row, table, re.M)) == languages["languages"]
    assert "| question | n | unmerged | merged | guess |" in text and "| ask_" in text
