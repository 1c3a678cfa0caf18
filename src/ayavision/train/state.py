"""Training checkpoints: model folder, optimizer, scheduler, RNG and data position, written atomically."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import torch

from ayavision.model.store import save_model
from ayavision.utils.fs import atomic_dir, atomic_write_text

LATEST = "latest"
STATE_FILE = "trainer_state.json"


def checkpoint_dir(out: Path, step: int) -> Path:
    return out / "checkpoints" / f"step-{step:08d}"


def save_checkpoint(
    out: Path, step: int, model_to_save, processor, optimizer: torch.optim.Optimizer, scheduler, state: dict, keep: int
) -> Path:
    """Write everything a resume needs; the folder appears complete or not at all, then `latest` points to it."""
    target = checkpoint_dir(out, step)
    with atomic_dir(target, overwrite=True) as tmp:
        save_model(model_to_save, processor, tmp / "model")
        # torch.save holds only tensors and plain containers here, and is read back with weights_only=True.
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp / "optim.pt")
        torch.save(rng_state(), tmp / "rng.pt")
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")
    point_latest(out, target)
    prune_checkpoints(out, keep)
    return target


def point_latest(out: Path, target: Path) -> None:
    atomic_write_text(out / "checkpoints" / LATEST, target.name)


def latest_checkpoint(out: Path) -> Path | None:
    """The newest complete checkpoint: a `step-N` folder only ever appears whole (renamed into place when done).

    Read from the folders, not the `latest` pointer: a run killed between the rename and the pointer's update
    still resumes from its newest checkpoint.
    """
    folders = [f for f in (out / "checkpoints").glob("step-*") if (f / STATE_FILE).exists()]
    return max(folders, key=lambda f: f.name) if folders else None


def load_checkpoint(folder: Path, optimizer: torch.optim.Optimizer, scheduler) -> dict:
    optim = torch.load(folder / "optim.pt", weights_only=True)
    optimizer.load_state_dict(optim["optimizer"])
    scheduler.load_state_dict(optim["scheduler"])
    set_rng_state(torch.load(folder / "rng.pt", weights_only=True))
    return json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))


def rng_state() -> dict:
    python_state = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "python_version": python_state[0],
        "python_state": torch.tensor(python_state[1], dtype=torch.int64),
        "python_gauss": python_state[2],
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((state["python_version"], tuple(state["python_state"].tolist()), state["python_gauss"]))


def prune_checkpoints(out: Path, keep: int) -> None:
    """Keep the newest `keep` checkpoints; drop older ones and folders a killed run left half written."""
    folders = sorted((out / "checkpoints").glob("step-*"))
    for old in [*folders[:-keep], *(out / "checkpoints").glob(".step-*.partial")]:
        shutil.rmtree(old, ignore_errors=True)
