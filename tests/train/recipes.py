"""Write small training recipes for tests."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_recipe(
    folder: Path, buckets: dict[str, Path], stages: dict[str, dict], uniform: tuple[str, ...] = ()
) -> Path:
    recipe = {
        "train": {
            "buckets": {
                name: {"paths": [str(path)], "uniform_languages": name in uniform} for name, path in buckets.items()
            },
            "stages": stages,
        }
    }
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def stage(mixture: dict[str, float], **overrides) -> dict:
    base = {
        "mixture": mixture,
        "max_steps": 6,
        "global_batch": 2,
        "micro_batch": 1,
        "seq_len": 512,
        "warmup_steps": 1,
        "lr": {"connector": 3e-3, "language_model": 3e-3, "vision_tower": 1e-3},
        "save_every": 3,
        "seed": 0,
        "num_workers": 0,  # samples built in the training process's thread; tests/train/test_data_workers.py: workers
    }
    base.update(overrides)
    return base
