"""Typed stage outputs: recipes name upstream outputs by stage and step, never by run-folder paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ayavision.data import read_records, write_parquet_shards
from ayavision.errors import ConfigError
from ayavision.recipe.artifacts import AnnotateArtifact, Artifact, DataArtifact, Inputs
from ayavision.recipe.config import RecipeError, load_recipe
from ayavision.recipe.engine import DONE, STAGE_RECORD, Stage, execute, plan, read_artifact
from ayavision.recipe.run import plan_recipe
from ayavision.recipe.stages import build_stages
from tests.annotate.helpers import make_dataset

REPO = Path(__file__).parents[2]


def test_no_shipped_recipe_names_a_run_folder_path():
    shipped = [
        *(REPO / "src" / "ayavision" / "recipe" / "demos").glob("*.yaml"),
        *(REPO / "recipes").glob("*.yaml"),
        *(REPO / "recipes" / "experiments").glob("*.yaml"),
        *(REPO / "docs" / "experiments").glob("*/sweep.yaml"),
    ]
    assert len(shipped) >= 7
    offenders = [str(path) for path in shipped if "{run}/" in path.read_text(encoding="utf-8")]
    assert offenders == []


def test_the_engine_records_artifacts_and_hands_them_to_later_stages(tmp_path):
    seen: dict[str, object] = {}

    def data(ctx):
        (ctx.folder / "original.jsonl").write_text("{}\n")
        return DataArtifact(original=ctx.folder / "original.jsonl", summary={"records": 1})

    def train(ctx):
        seen["inputs"] = dict(ctx.inputs)
        seen["path"] = ctx.resolve(Path(ctx.settings["path"]))
        return Artifact(summary={"ok": True})

    stages = [
        Stage("data", data, lambda: {"v": 1}, (), "", DataArtifact),
        Stage("train", train, lambda: {"path": "{data.original}"}, (), "", Artifact),
    ]
    report = execute(stages, tmp_path / "run", log=lambda _: None)
    run = (tmp_path / "run").resolve() if (tmp_path / "run").is_symlink() else tmp_path / "run"
    assert report.summaries == {"data": {"records": 1}, "train": {"ok": True}}
    assert seen["path"] == run / "data" / "original.jsonl"
    assert isinstance(seen["inputs"]["data"], DataArtifact)
    for record in (STAGE_RECORD, DONE):  # paths inside the run folder are kept as {run}/...
        kept = json.loads((run / "data" / record).read_text())["artifact"]
        assert kept["original"] == "{run}/data/original.jsonl" and kept["type"] == "DataArtifact"
    # A stage whose settings name {data.original} reads from data: a change there reruns it.
    items = plan(stages, run)
    assert [i.action for i in items] == ["reuse", "reuse"]
    stages[0] = Stage("data", data, lambda: {"v": 2}, (), "", DataArtifact)
    assert [i.action for i in plan(stages, run)] == ["run", "run"]
    # Reused stages hand their recorded artifacts on, read back in this run folder.
    seen.clear()
    stages[1] = Stage("train", train, lambda: {"path": "{data.original}", "again": 1}, (), "", Artifact)
    execute(stages[:1] + stages[1:], run, log=lambda _: None)
    assert seen["path"] == run / "data" / "original.jsonl"
    assert read_artifact(run / "data", run, DataArtifact).original == run / "data" / "original.jsonl"


def test_a_reference_to_a_later_stage_or_a_missing_output_is_named():
    stages = [
        Stage("data", lambda ctx: None, lambda: {"x": "{train.model}"}, ()),
        Stage("train", lambda ctx: None, lambda: {}, ()),
    ]
    with pytest.raises(ConfigError, match=r"stage 'data' refers to the outputs of 'train', which does not come"):
        plan(stages, Path("/nonexistent-run"))
    annotated = AnnotateArtifact(
        input=Path("/d"),
        datasets={"recap": Path("/a/recap"), "keep": Path("/a/keep")},
        kinds={"recap": "recaption", "keep": "filter"},
    )
    inputs = Inputs(annotate=annotated)
    assert inputs.resolve("{annotate.filter}") == "/a/keep"  # a step renamed with id: still found by its kind
    assert inputs.resolve("{annotate.final}") == "/a/keep"
    assert inputs.resolve("a {question} stays") == "a {question} stays"
    with pytest.raises(ConfigError, match=r"\{annotate\.rephrase\}: stage 'annotate' has no output 'rephrase'; "):
        inputs.resolve("{annotate.rephrase}")


def _recipe(tmp_path: Path, original: Path, extra: Path) -> Path:
    stage = {"global_batch": 2, "micro_batch": 2, "seq_len": 512, "max_steps": 1, "mixture": {"synthetic_en": 1.0}}
    recipe = {
        "name": "wired",
        "plugins": ["tests.annotate.plugin_backend"],
        "data": {"original": str(original)},
        "annotate": {
            "backends": {"loud": {"kind": "shouting-teacher"}},
            "steps": [
                {"step": "recaption", "id": "recap", "backend": "loud", "task_templates": {"vqa": "vqa"}},
                {"step": "filter", "id": "keep", "backend": "loud"},
            ],
        },
        "model": {
            "vision": {"checkpoint": str(tmp_path / "no-siglip")},
            "llm": {"checkpoint": str(tmp_path / "no-llm")},
        },
        "train": {
            "buckets": {
                "original": {"paths": ["{data.original}"]},
                "synthetic_en": {"paths": ["{annotate.filter}"]},  # the filter step is renamed 'keep'
                "recaptioned": {"paths": ["{annotate.recap}"]},
                "extra": {"paths": [str(extra)]},
            },
            "stages": {
                "align": {**stage, "lr": {"connector": 1e-3}},
                "sft": {**stage, "lr": {"connector": 1e-3, "language_model": 1e-3}},
            },
        },
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def test_a_renamed_step_and_a_parquet_original_keep_the_wiring(tmp_path):
    jsonl = make_dataset(tmp_path / "in", 6, tasks=("vqa",))
    shards = tmp_path / "parquet"
    write_parquet_shards(read_records(jsonl), shards, dataset_root=jsonl.parent)
    path = _recipe(tmp_path, shards, jsonl)
    recipe, run = load_recipe(path, tmp_path / "run")
    stages = build_stages(recipe, run)
    report = execute(stages[:2], run, log=lambda _: None)  # data and annotate
    assert report.ran == ["data", "annotate"]
    data = read_artifact(run / "data", run, DataArtifact)
    annotate = read_artifact(run / "annotate", run, AnnotateArtifact)
    assert data.format == "parquet" and data.original == shards
    assert set(annotate.datasets) == {"recap", "keep"} and annotate.final == "keep"
    buckets = Inputs(data=data, annotate=annotate).resolve(recipe.train.buckets)
    assert buckets["synthetic_en"].paths == [annotate.datasets["keep"]]
    assert buckets["recaptioned"].paths == [annotate.datasets["recap"]]
    assert buckets["original"].paths == [shards]
    for bucket in ("synthetic_en", "recaptioned"):
        (dataset,) = buckets[bucket].paths
        assert dataset.exists() and len(list(read_records(dataset))) == 6


def test_an_edited_input_dataset_reruns_what_reads_it(tmp_path):
    original = make_dataset(tmp_path / "in", 4, tasks=("vqa",))
    extra = make_dataset(tmp_path / "extra", 3, tasks=("vqa",))
    path = _recipe(tmp_path, original, extra)

    def prints(out: str) -> dict[str, str]:
        items, _ = plan_recipe(path, tmp_path / out)
        return {item.stage.name: item.fingerprint for item in items}

    before = prints("run")
    assert prints("run") == before and prints("elsewhere") == before  # deterministic, and portable
    original.write_text(original.read_text().replace("item 0", "item zero", 1))
    edited = prints("run")
    assert all(edited[name] != before[name] for name in before)  # everything reads the original, directly or not
    extra.write_text(extra.read_text().replace("item 1", "item one", 1))
    again = prints("run")
    assert [n for n in again if again[n] != edited[n]] == ["align", "sft", "merge", "evaluate", "report"]
    # Executed: data and annotate rerun after an edit of the original, and are reused when nothing changed.
    recipe, run = load_recipe(path, tmp_path / "run")
    assert execute(build_stages(recipe, run)[:2], run, log=lambda _: None).ran == ["data", "annotate"]
    assert execute(build_stages(recipe, run)[:2], run, log=lambda _: None).reused == ["data", "annotate"]
    original.write_text(original.read_text().replace("item zero", "item 0", 1))
    recipe, run = load_recipe(path, tmp_path / "run")
    assert execute(build_stages(recipe, run)[:2], run, log=lambda _: None).ran == ["data", "annotate"]


def test_a_reference_to_a_stage_the_recipe_lacks_is_an_error(tmp_path):
    original = make_dataset(tmp_path / "in", 2, tasks=("vqa",))
    path = _recipe(tmp_path, original, original)
    raw = yaml.safe_load(path.read_text())
    del raw["annotate"]
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(RecipeError, match=r"\{annotate\.(filter|recap)\}: this recipe has no 'annotate' stage"):
        plan_recipe(path, tmp_path / "run")
