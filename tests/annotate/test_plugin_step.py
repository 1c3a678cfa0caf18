"""A plug-in adds an annotation step and a benchmark without a line of core code: pipeline, recipe, evaluation."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ayavision.annotate import load_pipeline, run_pipeline
from ayavision.annotate.registry import STEPS
from ayavision.cli.main import app
from ayavision.errors import ConfigError
from ayavision.evaluate.benchmarks import BENCHMARKS
from ayavision.evaluate.metrics import METRICS
from ayavision.recipe.config import load_recipe
from ayavision.recipe.run import demo_recipe
from tests.annotate.helpers import read_jsonl
from tests.evaluate.helpers import answers_file, write_jsonl

MODULE = "ayavision_test_shouting_plugin"

# Written to a folder on sys.path, as a user's own module would be: it imports only ayavision's public pieces.
PLUGIN = '''
    """A plug-in: an ``uppercase`` annotation step and a ``shout-bench`` benchmark with its ``shouted`` metric."""

    from __future__ import annotations

    from typing import Literal

    from ayavision.annotate import Outcome, Step, register_step
    from ayavision.annotate.records import provenance, text_parts, with_texts
    from ayavision.evaluate import BenchItem, register_metric
    from ayavision.evaluate.benchmarks import Benchmark, register_benchmark
    from ayavision.utils.config import Strict


    class UppercaseConfig(Strict):
        step: Literal["uppercase"] = "uppercase"
        roles: list[Literal["user", "assistant"]] = ["assistant"]


    @register_step
    class UppercaseStep(Step):
        """Shouts the chosen turns; needs no backend."""

        name = "uppercase"
        config_type = UppercaseConfig

        @classmethod
        def needs_backend(cls, config) -> bool:
            return False

        async def process(self, record, ctx):
            texts = {at: text.upper() for at, text in text_parts(record, tuple(self.config.roles))}
            return Outcome.kept([with_texts(record, texts, meta=provenance(record, "uppercase"))])


    @register_metric("shouted")
    def shouted(prediction: str, item: BenchItem) -> bool:
        return prediction == item.answers[0].upper()


    def parse_row(fields, lang, bench):
        prompt = fields.text("prompt")
        return [
            BenchItem(
                id=f"{lang.nllb}/{fields.text('id')}", bench=bench, language=lang.nllb, prompt=prompt,
                question=prompt, metric="shouted", answers=(fields.text("answer"),), where=fields.row.where,
            )
        ]


    register_benchmark(
        Benchmark(
            name="shout-bench", kind="academic", parse=parse_row, fields="id, language, prompt, answer",
            hub="(a test plug-in)", registry_languages_only=True, has_images=False,
        )
    )
'''


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / f"{MODULE}.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        yield MODULE
    finally:  # leave the registries as the other tests expect them
        sys.path.remove(str(folder))
        sys.modules.pop(MODULE, None)
        STEPS.pop("uppercase", None)
        BENCHMARKS.pop("shout-bench", None)
        METRICS.pop("shouted", None)


def _pipeline_file(tmp_path: Path, plugin: str) -> Path:
    raw = {
        "input": "in/train.jsonl",
        "out": "run",
        "plugins": [plugin],
        "steps": [
            {"step": "uppercase"},
            {"step": "uppercase", "id": "shout-all", "roles": ["user", "assistant"]},
            {"step": "filter", "judge": False},
        ],
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_a_plugin_step_runs_in_a_pipeline_by_name(tmp_path, dataset, plugin):
    assert "uppercase" not in STEPS  # nothing registers it but the plug-in the file lists
    config = load_pipeline(_pipeline_file(tmp_path, plugin))
    assert type(config.steps[1].config).__name__ == "UppercaseConfig" and config.steps[1].config.roles == [
        "user",
        "assistant",
    ]
    result = run_pipeline(config, progress=False)
    assert list(result.datasets) == ["input", "uppercase", "shout-all", "filter"]
    assert result.steps["uppercase"].summary["kept"] == 12
    first = read_jsonl(result.datasets["uppercase"])[0]["messages"]
    assert first[1]["content"][0]["text"] == "RED, ITEM 0."
    assert first[0]["content"][1]["text"] == "What colour is the shape?"  # the user turn is left alone
    shouted = read_jsonl(result.datasets["shout-all"])[0]["messages"]
    assert shouted[0]["content"][1]["text"] == "WHAT COLOUR IS THE SHAPE?"
    assert result.steps["filter"].summary["kept"] == 12  # a built-in step runs on the plug-in's output
    step_file = json.loads((tmp_path / "run/shout-all/step.json").read_text(encoding="utf-8"))
    assert step_file["step"] == "uppercase" and step_file["config"]["roles"] == ["user", "assistant"]


def test_a_plugin_steps_config_is_checked_by_its_own_model(tmp_path, dataset, plugin):
    path = _pipeline_file(tmp_path, plugin)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["plugins"] = []  # first: a step no imported plug-in registered is unknown, as a built-in's typo is
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"steps\.0\.config: .* does not match any of the expected tags: 'filter'"):
        load_pipeline(path)
    raw["plugins"] = ["no_such_plugin_module"]
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pipeline\.yaml: plugins: cannot import 'no_such_plugin_module'"):
        load_pipeline(path)
    raw["plugins"] = [plugin]
    raw["steps"][0]["roles"] = ["narrator"]
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pipeline\.yaml: steps\.0\.config\.roles\.0: Input should be 'user'"):
        load_pipeline(path)


def test_a_recipe_names_the_plugin_step_and_benchmark(tmp_path, plugin):
    raw = yaml.safe_load(demo_recipe(quick=True).read_text(encoding="utf-8"))
    raw["plugins"].append(plugin)
    raw["annotate"]["steps"].insert(0, {"step": "uppercase"})
    raw["evaluate"]["benches"].append({"name": "shout-bench", "path": "shout.jsonl", "kind": "academic"})
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    recipe, _ = load_recipe(path, tmp_path / "run")
    assert recipe.annotate is not None and recipe.annotate.steps[0].config.step == "uppercase"
    assert recipe.evaluate.benches[-1].path == tmp_path / "shout.jsonl"  # relative to the recipe file
    dumped = json.loads(recipe.model_dump_json())  # what the stage fingerprints read: the plug-in's fields too
    assert dumped["annotate"]["steps"][0]["config"] == {"step": "uppercase", "roles": ["assistant"]}
    dry = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "run"), "--dry-run"])
    assert dry.exit_code == 0, dry.output


def test_an_evaluation_lists_and_scores_the_plugin_benchmark(tmp_path, plugin):
    rows = [
        {"id": "1", "language": "eng_Latn", "prompt": "Say red.", "answer": "red"},
        {"id": "2", "language": "fra_Latn", "prompt": "Dis bleu.", "answer": "bleu"},
    ]
    data = write_jsonl(tmp_path / "shout.jsonl", rows)
    answers = answers_file(
        tmp_path / "answers.jsonl", {"eng_Latn/1": "RED", "fra_Latn/2": "bleu"}, bench="shout-bench", data=str(data)
    )
    runner = CliRunner(env={"COLUMNS": "200"})
    listed = runner.invoke(app, ["eval", "benchmarks", "--plugin", plugin])
    assert listed.exit_code == 0 and "shout-bench" in listed.output, listed.output
    scored = runner.invoke(
        app, ["eval", "score", "--answers", str(answers), "--out", str(tmp_path / "out"), "--plugin", plugin]
    )
    assert scored.exit_code == 0, scored.output
    saved = json.loads((tmp_path / "out/scores.json").read_text(encoding="utf-8"))
    assert saved["languages"]["eng_Latn"]["accuracy"] == 1.0 and saved["languages"]["fra_Latn"]["accuracy"] == 0.0
    missing = runner.invoke(app, ["eval", "benchmarks", "--plugin", "no_such_plugin_module"])
    assert missing.exit_code == 2 and "--plugin: cannot import 'no_such_plugin_module'" in missing.output
