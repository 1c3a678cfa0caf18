"""A whole recipe on tiny parts: every stage runs, a second run reuses them, a change reruns what depends on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ayavision.recipe.engine import DONE
from ayavision.recipe.run import plan_recipe, run_recipe
from ayavision.testing.datasets import make_dataset
from tests.model.helpers import save_causal_lm, save_siglip


def _recipe(tmp_path: Path, steps: int = 3) -> Path:
    data = make_dataset(tmp_path / "data", 12, languages=("eng_Latn", "fra_Latn"))
    save_siglip(tmp_path / "siglip")
    save_causal_lm(tmp_path / "llm", "cohere2", logit_scale=1.0)
    stage = {
        "global_batch": 2,
        "micro_batch": 2,
        "seq_len": 512,
        "max_steps": steps,
        "warmup_steps": 1,
        "save_every": 2,
        "mixture": {"original": 1.0},
    }
    recipe = {
        "name": "tiny-run",
        "data": {"original": str(data)},
        "model": {
            "vision": {"checkpoint": str(tmp_path / "siglip")},
            "llm": {"checkpoint": str(tmp_path / "llm")},
            "connector": {"intermediate_size": 64},
            "tiling": {"tile_size": 64, "max_tiles": 4},
        },
        "train": {
            "buckets": {"original": {"paths": [str(data)]}},
            "stages": {
                "align": {**stage, "lr": {"connector": 3e-3}},
                "sft": {**stage, "lr": {"connector": 3e-3, "language_model": 3e-3}},
            },
        },
        "merge": {"alphas": [0.0, 0.4, 1.0]},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.mark.slow
def test_a_recipe_runs_every_stage_then_reuses_them(tmp_path):
    path = _recipe(tmp_path)
    run_dir = tmp_path / "run"
    report, _ = run_recipe(path, run_dir, log=lambda _: None)
    assert report.ran == ["data", "model", "align", "sft", "merge", "evaluate", "report"]
    for stage in report.ran:
        assert (run_dir / stage / DONE).exists()
    for alpha in ("0.0", "0.4", "1.0"):
        assert (run_dir / "merge" / "sweep" / f"alpha-{alpha}" / "model.safetensors.index.json").exists()
    assert (run_dir / "report" / "report.md").exists() and (run_dir / "report" / "loss.png").exists()
    assert "<img" in (run_dir / "report" / "report.html").read_text()
    assert json.loads((run_dir / "sft" / DONE).read_text())["summary"]["steps"] == 3

    items, _ = plan_recipe(path, run_dir)
    assert {item.action for item in items} == {"reuse"}
    again, _ = run_recipe(path, run_dir, log=lambda _: None)
    assert again.ran == []

    text = path.read_text().replace("alphas:\n  - 0.0\n  - 0.4\n  - 1.0", "alphas:\n  - 0.4\n  - 1.0")
    path.write_text(text)
    changed, _ = run_recipe(path, run_dir, log=lambda _: None)
    assert changed.ran == ["merge", "evaluate", "report"]


@pytest.mark.slow
def test_a_run_killed_during_sft_continues_without_redoing_earlier_stages(tmp_path):
    import os
    import subprocess
    import sys

    from ayavision.train.trainer import CRASH_AFTER_STEP_ENV

    path = _recipe(tmp_path, steps=4)
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "ayavision.cli.main", "run", str(path), "--out", str(run_dir)]
    killed = subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, CRASH_AFTER_STEP_ENV: "sft:3"}
    )
    assert killed.returncode == 137
    assert (run_dir / "align" / DONE).exists() and not (run_dir / "sft" / DONE).exists()
    align_done = (run_dir / "align" / DONE).stat().st_mtime_ns
    lines: list[str] = []
    report, _ = run_recipe(path, run_dir, log=lines.append)
    assert any(line.startswith("[sft] resume") for line in lines)
    assert report.reused == ["data", "model", "align"]
    assert report.ran == ["sft", "merge", "evaluate", "report"]
    assert (run_dir / "align" / DONE).stat().st_mtime_ns == align_done
    losses = [
        json.loads(line)["step"] for line in (run_dir / "sft" / "train" / "metrics.jsonl").read_text().splitlines()
    ]
    assert losses == [1, 2, 3, 4]  # resumed from the step-2 checkpoint, not restarted
