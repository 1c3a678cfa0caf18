"""Checkpoints of sharded runs, each process writing its own shards, complete or absent across all processes.

FSDP's weights and optimizer moments go through torch.distributed.checkpoint (DCP), DeepSpeed's through its engine.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import torch
from accelerate import Accelerator

from ayavision.errors import AyaVisionError
from ayavision.train.state import (
    STATE_FILE,
    checkpoint_dir,
    point_latest,
    prune_checkpoints,
    rng_state,
    set_rng_state,
)

DCP_DIR = "sharded"  # torch.distributed.checkpoint files: one .distcp per process, and .metadata
ENGINE_DIR = "deepspeed"  # DeepSpeed's own checkpoint layout
ENGINE_TAG = "engine"


class ResumeError(AyaVisionError, ValueError):
    """A checkpoint this launch cannot continue (another format, or a process count the format cannot reshard)."""


def checkpoint_format(folder: Path) -> str:
    """'dcp' (FSDP2 shards), 'deepspeed' (engine shards) or 'plain' (a model folder and optim.pt)."""
    if (folder / DCP_DIR).is_dir():
        return "dcp"
    if (folder / ENGINE_DIR).is_dir():
        return "deepspeed"
    return "plain"


def _rng_file(rank: int) -> str:
    return f"rng-{rank:05d}.pt"


def _torch_optimizer(optimizer) -> torch.optim.Optimizer:
    # accelerate wraps the optimizer; the state-dict API needs the one holding the (sharded) parameters.
    return getattr(optimizer, "optimizer", optimizer)


def save_sharded_checkpoint(
    accelerator: Accelerator, out: Path, step: int, wrapped, optimizer, scheduler, state: dict, keep: int, engine: str
) -> Path:
    """Every process writes its shards into one temporary folder; the main process renames it when all are done.

    Collective: every process must call it. The folder is on a file system all processes see (as DCP requires).
    """
    target = checkpoint_dir(out, step)
    tmp = target.with_name(f".{target.name}.partial")  # the same name on every process, unlike mkdtemp's
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)  # left by a run killed while writing
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    extra: dict = {}
    if engine == "deepspeed":
        # DeepSpeed's own checkpoint engine: each process writes its partition of weights and optimizer moments.
        wrapped.save_checkpoint(str(tmp / ENGINE_DIR), tag=ENGINE_TAG, save_latest=False)
    else:
        extra = _save_dcp(tmp / DCP_DIR, wrapped, _torch_optimizer(optimizer))
    torch.save(rng_state(), tmp / _rng_file(accelerator.process_index))
    if accelerator.is_main_process:
        record = {
            **state,
            **extra,
            "scheduler": scheduler.state_dict(),
            "world_size": accelerator.num_processes,
            "format": "deepspeed" if engine == "deepspeed" else "dcp",
        }
        (tmp / STATE_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        if target.exists():  # the same step written again: the old folder goes only once the new one is whole
            trash = target.with_name(f".{target.name}.old")
            shutil.rmtree(trash, ignore_errors=True)
            os.replace(target, trash)
            os.replace(tmp, target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, target)
        point_latest(out, target)
        prune_checkpoints(out, keep)
    accelerator.wait_for_everyone()
    return target


def _save_dcp(folder: Path, wrapped, optimizer: torch.optim.Optimizer) -> dict:
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict

    model_state, optim_state = get_state_dict(wrapped, optimizer)
    # Only tensors go into the DCP files (DCP would pickle anything else); the optimizer's hyper-parameters
    # (plain numbers and names) go to the JSON state.
    dcp.save({"model": model_state, "optimizer": optim_state["state"]}, checkpoint_id=str(folder))
    return {"optimizer_groups": optim_state["param_groups"]}


def load_sharded_checkpoint(accelerator: Accelerator, folder: Path, wrapped, optimizer, scheduler, engine: str) -> dict:
    """Restore a sharded checkpoint into the prepared model and optimizer; returns the trainer state.

    DCP files reshard: a run on another number of processes (FSDP, DDP or one process) reads the shards it needs.
    DeepSpeed's layout is tied to the process count that wrote it, so another count is refused.
    """
    state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    kind = checkpoint_format(folder)
    if kind == "deepspeed":
        if engine != "deepspeed":
            raise ResumeError(f"{folder} holds DeepSpeed engine shards: resume it under the same DeepSpeed launch")
        if state["world_size"] != accelerator.num_processes:
            raise ResumeError(
                f"{folder} was written by {state['world_size']} DeepSpeed processes and this launch has "
                f"{accelerator.num_processes}: DeepSpeed checkpoints resume on the same process count"
            )
        loaded, _ = wrapped.load_checkpoint(
            str(folder / ENGINE_DIR), tag=ENGINE_TAG, load_optimizer_states=True, load_lr_scheduler_states=False
        )
        if loaded is None:
            raise ResumeError(f"DeepSpeed found no checkpoint under {folder / ENGINE_DIR}")
    elif engine == "deepspeed":
        raise ResumeError(f"{folder} holds torch.distributed.checkpoint shards (FSDP): DeepSpeed cannot read them")
    else:
        _load_dcp(folder / DCP_DIR, wrapped, _torch_optimizer(optimizer), state["optimizer_groups"])
    scheduler.load_state_dict(state["scheduler"])
    rng = folder / _rng_file(accelerator.process_index)
    set_rng_state(torch.load(rng if rng.exists() else folder / _rng_file(0), weights_only=True))
    return state


def _load_dcp(folder: Path, wrapped, optimizer: torch.optim.Optimizer, groups: list[dict]) -> None:
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

    # The current (possibly sharded) state dicts are the templates DCP reads into, each process its own shards.
    model_state, optim_state = get_state_dict(wrapped, optimizer)
    # One process without a process group reads every shard itself (resuming a multi-process run on one); DCP warns
    # that it assumes so, which is what is meant here.
    single = not torch.distributed.is_initialized()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled", category=UserWarning)
        dcp.load({"model": model_state, "optimizer": optim_state["state"]}, checkpoint_id=str(folder), no_dist=single)
    optim_state["param_groups"] = groups
    set_state_dict(wrapped, optimizer, model_state_dict=model_state, optim_state_dict=optim_state)
