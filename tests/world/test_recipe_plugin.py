"""The world as a recipe plug-in: its data-source options are checked when a recipe loads."""

from __future__ import annotations

import pytest
import yaml

from ayavision.recipe.config import RecipeError, load_recipe
from ayavision.recipe.run import demo_recipe


def test_a_bad_world_option_fails_the_dry_run_naming_the_field(tmp_path):
    raw = yaml.safe_load(demo_recipe(quick=True).read_text(encoding="utf-8"))
    raw["data"]["options"]["text_llm"]["stepz"] = 3
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(RecipeError, match=r"recipe.yaml: data.options: text_llm.stepz: Extra inputs"):
        load_recipe(path, tmp_path / "run")


def test_the_text_bench_asks_the_task_the_text_llm_learnt(tmp_path):
    from ayavision.world.recipe import WorldSourceOptions

    raw = yaml.safe_load(demo_recipe(quick=False).read_text(encoding="utf-8"))
    options = WorldSourceOptions.model_validate(raw["data"]["options"])
    bench = options.text_llm.task(options.text_bench.n, seed=options.text_bench.seed)
    assert bench.questions == options.text_llm.questions
    assert (bench.min_objects, bench.max_objects) == (options.text_llm.min_objects, options.text_llm.max_objects)
    assert bench.seed != options.text_llm.seed  # held out


def test_text_training_records_are_written_for_a_text_bucket_apart_from_the_benchmark(tmp_path):
    # merge-vs-mix (docs/experiments) trains on them: text-only records in every language, none of the held-out ones.
    from ayavision.world.recipe import shapes_world_source
    from ayavision.world.texttask import read_text_task

    options = {
        "original": {"n": 4, "seed": 0},
        "vqa_bench": {"n": 4, "seed": 101, "tasks": ["vqa"], "languages": "all"},
        "text_bench": {"n": 46, "seed": 102},
        "text_train": {"n": 46, "seed": 103},
        "progress": False,
    }
    summary = shapes_world_source(options, tmp_path / "data").summary
    train = read_text_task(tmp_path / "data" / "text")
    bench = read_text_task(tmp_path / "data" / "bench" / "world-text")
    assert len(train) == summary["text_train"]["records"] and len({s.language for s in train}) > 15
    assert not {s.prompt for s in train} & {s.prompt for s in bench}

    # The task's space is small: at the merge-vs-mix sizes some of 2,400 draws are prompts the benchmark asks. They are
    # left out and counted, never silently.
    from ayavision.world.pretrain import LLMConfig
    from ayavision.world.texttask import make_text_task, text_samples

    bench_task, train_task = LLMConfig().task(230, seed=102), LLMConfig().task(2400, seed=103)
    made = make_text_task(tmp_path / "big", train_task, held_out=bench_task)
    asked = {s.prompt for s in text_samples(bench_task)}
    overlapping = sum(s.prompt in asked for s in text_samples(train_task))
    assert overlapping > 0 and made["held_out_prompts"] == overlapping
    assert made["records"] == 2400 - overlapping
    assert not {s.prompt for s in read_text_task(tmp_path / "big")} & asked
    lines = (tmp_path / "data" / "text" / "data.jsonl").read_text(encoding="utf-8").splitlines()
    assert all('"images"' not in line or '"images": []' in line for line in lines)

    del options["text_train"]
    shapes_world_source(options, tmp_path / "plain")
    assert not (tmp_path / "plain" / "text").exists()
