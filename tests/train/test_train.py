"""Training stages end to end: what trains, what stays frozen, resuming, distributed runs, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForImageTextToText
from typer.testing import CliRunner

from ayavision.cli.main import app
from ayavision.testing.datasets import make_dataset
from ayavision.train.config import LoraConfig, RecipeError, load_train_recipe
from ayavision.train.metrics import read_metrics
from ayavision.train.optim import warmup_cosine
from ayavision.train.trainer import CRASH_AFTER_STEP_ENV, TrainSetupError, train_stage

from .recipes import stage, write_recipe

runner = CliRunner()
REPO = Path(__file__).parents[2]


@pytest.fixture
def recipe_path(tmp_path: Path) -> Path:
    original = make_dataset(tmp_path / "orig", 12, languages=("eng_Latn",))
    multilingual = make_dataset(tmp_path / "ml", 12, languages=("fra_Latn", "deu_Latn"), bucket="multilingual")
    return write_recipe(
        tmp_path,
        {"original": original, "multilingual": multilingual},
        {
            "align": stage({"original": 0.86, "multilingual": 0.14}),
            "sft": stage({"original": 0.65, "multilingual": 0.35}),
        },
        uniform=("multilingual",),
    )


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ayavision.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
        cwd=REPO,
    )


@pytest.mark.slow
def test_align_then_sft_from_the_cli_lowers_the_loss_and_loads_in_transformers(recipe_path, tmp_path, tiny_model_dir):
    align, sft = tmp_path / "align", tmp_path / "sft"
    result = runner.invoke(
        app,
        [
            "train",
            "--config",
            str(recipe_path),
            "--stage",
            "align",
            "--out",
            str(align),
            "--init",
            str(tiny_model_dir),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "train",
            "--config",
            str(recipe_path),
            "--stage",
            "sft",
            "--out",
            str(sft),
            "--init",
            str(align),
            "--quiet",
            "--max-steps",
            "8",
        ],
    )
    assert result.exit_code == 0, result.output
    for folder, steps in ((align, 6), (sft, 8)):
        metrics = read_metrics(folder / "metrics.jsonl")
        losses = [m["loss"] for m in metrics]
        assert len(losses) == steps and losses[-1] < losses[0]
        assert (folder / "COMPLETE").exists()
        # Each line holds the rate its own update used: the schedule's value at that step (warmup 1, cosine to 0.1).
        schedule = warmup_cosine(1, steps, 0.1)
        for m in metrics:
            assert m["lr"]["connector"] == pytest.approx(3e-3 * schedule(m["step"] - 1))
    AutoModelForImageTextToText.from_pretrained(sft / "model")
    report = json.loads((sft / "data_report.json").read_text())
    assert set(report["bucket_shares"]) == {"original", "multilingual"}
    assert 0.2 < report["bucket_shares"]["multilingual"] < 0.5  # the 35% target, realised on ~100 samples
    assert {"fra_Latn", "deu_Latn", "eng_Latn"} == set(report["language_shares"])


def test_stage_outputs_and_checkpoints_have_the_released_weight_layout(recipe_path, tmp_path, tiny_model_dir):
    from ayavision.model.checkpoint import layout_kind, list_tensors

    recipe = load_train_recipe(recipe_path)
    train_stage(recipe, "align", tmp_path / "align", init=tiny_model_dir, max_steps=3, quiet=True)
    for folder in (tmp_path / "align" / "model", tmp_path / "align" / "checkpoints" / "step-00000003" / "model"):
        names = [t.name for t in list_tensors(folder)]
        assert layout_kind(names) == "released", folder
        released = ("vision_tower.vision_model.", "multi_modal_projector.", "language_model.")
        assert all(n.startswith(released) for n in names)


def test_frozen_parts_are_bit_identical_and_not_optimised(recipe_path, tmp_path, tiny_model_dir):
    recipe = load_train_recipe(recipe_path)
    before = _weights(tiny_model_dir)
    train_stage(recipe, "align", tmp_path / "align", init=tiny_model_dir, max_steps=3, quiet=True)
    after_align = _weights(tmp_path / "align" / "model")
    for name, tensor in before.items():
        changed = not torch.equal(tensor, after_align[name])
        assert changed == name.startswith("multi_modal_projector."), name
    config = json.loads((tmp_path / "align" / "train_config.json").read_text())
    assert config["parameters"]["vision_tower"]["trainable"] == 0
    assert config["parameters"]["language_model"]["trainable"] == 0

    train_stage(recipe, "sft", tmp_path / "sft", init=tmp_path / "align", max_steps=3, quiet=True)
    after_sft = _weights(tmp_path / "sft" / "model")
    for name, tensor in after_align.items():
        changed = not torch.equal(tensor, after_sft[name])
        if name.startswith("vision_tower."):
            assert not changed, name
    assert any(not torch.equal(after_align[n], after_sft[n]) for n in after_sft if n.startswith("language_model."))
    optim = torch.load(tmp_path / "sft" / "checkpoints" / "step-00000003" / "optim.pt", weights_only=True)
    parts = {group["part"] for group in optim["optimizer"]["param_groups"]}
    assert parts == {"connector", "language_model"}


@pytest.mark.slow
@pytest.mark.parametrize("stage_name", ["align", "sft"])
def test_a_killed_run_resumes_to_the_same_weights_and_loss_curve(recipe_path, tmp_path, tiny_model_dir, stage_name):
    args = ["train", "--config", str(recipe_path), "--stage", stage_name, "--init", str(tiny_model_dir), "--quiet"]
    whole = _cli(*args, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    crashed = _cli(*args, "--out", str(tmp_path / "resumed"), env={CRASH_AFTER_STEP_ENV: "5"})
    assert crashed.returncode == 137  # died after step 5; the last checkpoint is step 3
    assert not (tmp_path / "resumed" / "model").exists()
    assert len(read_metrics(tmp_path / "resumed" / "metrics.jsonl")) == 5
    resumed = _cli(*args, "--out", str(tmp_path / "resumed"), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    a, b = _weights(tmp_path / "whole" / "model"), _weights(tmp_path / "resumed" / "model")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    curve = [m["loss"] for m in read_metrics(tmp_path / "whole" / "metrics.jsonl")]
    assert curve == [m["loss"] for m in read_metrics(tmp_path / "resumed" / "metrics.jsonl")]
    assert json.loads((tmp_path / "whole" / "data_report.json").read_text()) == json.loads(
        (tmp_path / "resumed" / "data_report.json").read_text()
    )


@pytest.mark.slow
def test_two_processes_reach_the_same_loss_as_one(recipe_path, tmp_path, tiny_model_dir):
    args = [
        "train",
        "--config",
        str(recipe_path),
        "--stage",
        "sft",
        "--init",
        str(tiny_model_dir),
        "--quiet",
        "--max-steps",
        "4",
    ]
    single = _cli(*args, "--out", str(tmp_path / "one"))
    assert single.returncode == 0, single.stderr
    launch = subprocess.run(
        # On a machine without GPUs, accelerate turns --multi_gpu into DDP over CPU processes (gloo).
        [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "-m",
            "ayavision.cli.main",
            *args,
            "--out",
            str(tmp_path / "two"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert launch.returncode == 0, launch.stderr[-3000:]
    one = [m["loss"] for m in read_metrics(tmp_path / "one" / "metrics.jsonl")]
    two = read_metrics(tmp_path / "two" / "metrics.jsonl")
    assert json.loads((tmp_path / "two" / "train_config.json").read_text())["world_size"] == 2
    assert len(two) == len(one) == 4
    for a, b in zip(one, (m["loss"] for m in two), strict=True):
        assert abs(a - b) < 1e-4 * max(1.0, abs(a))
    w1, w2 = _weights(tmp_path / "one" / "model"), _weights(tmp_path / "two" / "model")
    assert max(float((w1[n] - w2[n]).abs().max()) for n in w1) < 1e-4


def test_lora_trains_adapters_only_and_writes_a_merged_model(recipe_path, tmp_path, tiny_model_dir):
    recipe = load_train_recipe(recipe_path)
    sft = recipe.stages["sft"].model_copy(update={"lora": LoraConfig(r=4, alpha=8, dropout=0.0)})
    recipe = recipe.model_copy(update={"stages": {"sft": sft}})
    result = train_stage(recipe, "sft", tmp_path / "lora", init=tiny_model_dir, max_steps=3, quiet=True)
    config = json.loads((tmp_path / "lora" / "train_config.json").read_text())
    llm = config["parameters"]["language_model"]
    assert 0 < llm["trainable"] < llm["frozen"]
    merged = _weights(result.model_dir)
    assert not any("lora" in name for name in merged)
    base = _weights(tiny_model_dir)
    assert any(not torch.equal(base[n], merged[n]) for n in base if n.startswith("language_model.model.layers"))
    assert all(torch.equal(base[n], merged[n]) for n in base if n.startswith("vision_tower."))


def test_bad_recipes_and_setups_fail_before_any_work(recipe_path, tmp_path, tiny_model_dir):
    bad = tmp_path / "bad.yaml"
    text = recipe_path.read_text()
    bad.write_text(text.replace("global_batch: 2", "global_batch: two"))
    with pytest.raises(RecipeError, match=r"bad.yaml: train.stages.align.global_batch"):
        load_train_recipe(bad)
    bad.write_text(text.replace("warmup_steps: 1", "warmup_step: 1"))
    with pytest.raises(RecipeError, match="warmup_step"):
        load_train_recipe(bad)
    bad.write_text(text.replace("multilingual: 0.14", "nonexistent: 0.14"))
    with pytest.raises(RecipeError, match="unknown buckets"):
        load_train_recipe(bad)

    recipe = load_train_recipe(recipe_path)
    with pytest.raises(TrainSetupError, match="--init"):
        train_stage(recipe, "align", tmp_path / "x")
    with pytest.raises(TrainSetupError, match="not a model folder"):
        train_stage(recipe, "align", tmp_path / "x", init=tmp_path)
    nothing = recipe.model_copy(update={"stages": {"align": recipe.stages["align"].model_copy(update={"train": []})}})
    with pytest.raises(ValueError, match="no parameter is left trainable"):
        train_stage(nothing, "align", tmp_path / "y", init=tiny_model_dir)

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "data.jsonl").write_text("")
    bad.write_text(text.replace(str(recipe.buckets["multilingual"].paths[0]), str(empty / "data.jsonl")))
    with pytest.raises(ValueError, match=r"'multilingual' has a share of 0\.14 but no samples"):
        train_stage(load_train_recipe(bad), "align", tmp_path / "z", init=tiny_model_dir)

    result = runner.invoke(
        app, ["train", "--config", str(recipe_path), "--stage", "align", "--out", str(tmp_path / "w")]
    )
    assert result.exit_code == 2 and "--init" in result.output


def test_step_time_summary_reads_stalls_from_the_logged_seconds():
    from ayavision.train.metrics import step_time_summary

    records = [{"step": i, "seconds": {"data": 0.1, "compute": 0.9, "update": 0.0}} for i in range(19)]
    records.append({"step": 19, "seconds": {"data": 0.0, "compute": 12.0, "update": 0.0}})  # one stalled step
    times = step_time_summary(records)
    assert times == {"steps": 20, "p50": pytest.approx(1.0), "p95": pytest.approx(1.0), "max": 12.0}
    assert step_time_summary([{"step": 1, "loss": 2.0}]) is None
