"""FSDP2 on two CPU processes: sharded checkpoints, an exact resume after a kill, resharding onto one process."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForImageTextToText

from ayavision.testing.datasets import make_dataset
from ayavision.train.config import load_train_recipe
from ayavision.train.metrics import read_metrics
from ayavision.train.state import STATE_FILE, latest_checkpoint, prune_checkpoints
from ayavision.train.trainer import CRASH_AFTER_STEP_ENV, StageRun

from .recipes import stage, write_recipe

REPO = Path(__file__).parents[2]
FSDP2 = REPO / "configs" / "accelerate" / "fsdp2.yaml"


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


def _free_port() -> int:
    # Not accelerate's default 29500: another job on the machine may hold it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fsdp2(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`ayavision train` under `accelerate launch` with the shipped FSDP2 config, on two CPU processes."""
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(FSDP2)]
    command += ["--num_processes", "2", "--mixed_precision", "no", "--main_process_port", str(_free_port())]
    return subprocess.run(
        [*command, "-m", "ayavision.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
        cwd=REPO,
    )


def _dcp_tensors(folder: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a DCP checkpoint, whole, read on one process (flattened keys: `optimizer.<fqn>.exp_avg`)."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.metadata import TensorStorageMetadata

    metadata = dcp.FileSystemReader(str(folder)).read_metadata()
    tensors = {
        key: torch.empty(meta.size, dtype=meta.properties.dtype)
        for key, meta in metadata.state_dict_metadata.items()
        if isinstance(meta, TensorStorageMetadata)
    }
    with warnings.catch_warnings():  # DCP warns that no_dist means one process: it does, here
        warnings.filterwarnings("ignore", message="torch.distributed is disabled", category=UserWarning)
        dcp.load(tensors, checkpoint_id=str(folder), no_dist=True)
    return tensors


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


@pytest.mark.slow
@pytest.mark.parametrize("stage_name", ["align", "sft"])
def test_an_fsdp2_run_killed_after_a_checkpoint_resumes_bit_exactly(recipe_path, tmp_path, tiny_model_dir, stage_name):
    args = ["train", "--config", str(recipe_path), "--stage", stage_name, "--init", str(tiny_model_dir), "--quiet"]
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    run = _fsdp2(*args, "--out", str(whole))
    assert run.returncode == 0, run.stderr[-3000:]
    crashed = _fsdp2(*args, "--out", str(resumed), env={CRASH_AFTER_STEP_ENV: "5"})
    assert crashed.returncode != 0  # both processes died after step 5; the last checkpoint is step 3
    assert not (resumed / "model").exists() and len(read_metrics(resumed / "metrics.jsonl")) == 5
    step3 = resumed / "checkpoints" / "step-00000003"
    # Sharded: each process wrote its own file of weights and moments; nothing was gathered into a model folder.
    assert sorted(p.name for p in (step3 / "sharded").glob("*.distcp")) == ["__0_0.distcp", "__1_0.distcp"]
    assert not (step3 / "model").exists() and (step3 / "rng-00001.pt").exists()
    assert json.loads((step3 / STATE_FILE).read_text())["world_size"] == 2
    config = json.loads((resumed / "train_config.json").read_text())
    assert (config["sharding"], config["world_size"]) == ("fsdp2", 2)
    saved = _dcp_tensors(step3 / "sharded")
    if stage_name == "sft":
        one = tmp_path / "one-process"
        shutil.copytree(resumed, one)

    run = _fsdp2(*args, "--out", str(resumed), "--resume")
    assert run.returncode == 0, run.stderr[-3000:]
    a, b = _weights(whole / "model"), _weights(resumed / "model")
    assert a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)
    assert [m["loss"] for m in read_metrics(whole / "metrics.jsonl")] == [
        m["loss"] for m in read_metrics(resumed / "metrics.jsonl")
    ]
    assert (whole / "data_report.json").read_text() == (resumed / "data_report.json").read_text()
    AutoModelForImageTextToText.from_pretrained(resumed / "model")  # the gathered model is a plain folder

    # The moments themselves: after three more steps from the restored ones, equal bit for bit to the
    # uninterrupted run's; only trained parts have them, and they are not zeros.
    final_whole = _dcp_tensors(whole / "checkpoints" / "step-00000006" / "sharded")
    final_resumed = _dcp_tensors(resumed / "checkpoints" / "step-00000006" / "sharded")
    moments = [key for key in final_whole if key.endswith((".exp_avg", ".exp_avg_sq"))]
    trained = ("multi_modal_projector",) if stage_name == "align" else ("multi_modal_projector", "language_model")
    assert moments and all(any(part in key for part in trained) for key in moments)
    assert any("language_model" in key for key in moments) == (stage_name == "sft")
    assert all(torch.equal(final_whole[key], final_resumed[key]) for key in final_whole)
    assert all(final_resumed[key].abs().sum() > 0 for key in moments if key.endswith("exp_avg_sq"))
    assert not all(torch.equal(saved[key], final_resumed[key]) for key in moments)  # they moved on after step 3

    if stage_name == "sft":
        _resume_on_one_process(recipe_path, one, tiny_model_dir, saved, whole)
        refused = _fsdp2(*args, "--out", str(one), "--resume")  # its newest checkpoint is now a one-process one
        assert refused.returncode != 0
        assert "was written by an unsharded run (one process or DDP)" in refused.stderr


def _resume_on_one_process(recipe_path: Path, out: Path, init: Path, saved: dict, whole: Path) -> None:
    """Resharding: a two-process FSDP2 checkpoint read by one process, its moments checked as they are loaded."""
    run = StageRun(load_train_recipe(recipe_path), "sft", out, init, None, True, None, True)
    assert run.start_step == 3
    optimizer = run.optimizer.optimizer
    checked = 0
    for name, param in run.model.named_parameters():
        if not param.requires_grad:
            assert param not in optimizer.state
            continue
        for moment in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(optimizer.state[param][moment], saved[f"optimizer.model.{name}.{moment}"]), name
        assert torch.equal(param.detach(), saved[f"model.model.{name}"]), name
        checked += 1
    assert checked > 10
    run.train()
    a, b = _weights(whole / "model"), _weights(out / "model")
    # Two processes sum gradients in another order than one: equal to rounding, not to the bit.
    assert max(float((a[n] - b[n]).abs().max()) for n in a) < 1e-5


def test_a_resume_takes_the_newest_complete_checkpoint_and_leftovers_are_pruned(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    for name in ("step-00000003", "step-00000006", ".step-00000009.partial"):
        (checkpoints / name).mkdir(parents=True)
    (checkpoints / "step-00000003" / STATE_FILE).write_text("{}")
    (checkpoints / "step-00000006" / STATE_FILE).write_text("{}")
    (checkpoints / "latest").write_text("step-00000003")  # a run killed before it moved the pointer on
    assert latest_checkpoint(tmp_path) == checkpoints / "step-00000006"
    prune_checkpoints(tmp_path, keep=2)
    assert sorted(p.name for p in checkpoints.iterdir()) == ["latest", "step-00000003", "step-00000006"]
    prune_checkpoints(tmp_path, keep=1)
    assert latest_checkpoint(tmp_path) == checkpoints / "step-00000006"
    assert not (checkpoints / "step-00000003").exists()
