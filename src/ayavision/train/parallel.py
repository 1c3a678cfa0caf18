"""The accelerator a stage runs under (one process, DDP, FSDP2, DeepSpeed), FSDP2 on CPU processes included."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Literal

import torch
from accelerate import Accelerator, DistributedType, PartialState
from accelerate.utils import FullyShardedDataParallelPlugin

from ayavision.errors import AyaVisionError

Sharding = Literal["none", "fsdp1", "fsdp2", "deepspeed"]


class ParallelSetupError(AyaVisionError, ValueError):
    """A launch configuration the trainer cannot run (FSDP1 on CPU processes, say)."""


def _fsdp_requested() -> bool:
    # What `accelerate launch --config_file configs/accelerate/fsdp2.yaml` (or --use_fsdp) tells every process.
    return os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true"


def make_accelerator(mixed_precision: str) -> Accelerator:
    """The stage's Accelerator; an FSDP launch on CPU processes gets FSDP2 over gloo as it would on GPUs.

    accelerate turns FSDP on only for GPU-like devices: CPU processes become plain DDP (MULTI_CPU). torch's FSDP2
    (`fully_shard`) and distributed checkpointing do run on CPU processes over gloo, so there the state is switched
    to FSDP after the process group is up, and the run then takes accelerate's own FSDP2 code paths (prepare,
    no_sync, clipping, state dicts): the path a GPU run takes, testable on any machine.
    """
    on_cpu = not torch.cuda.is_available()
    accelerator = Accelerator(mixed_precision=mixed_precision, cpu=on_cpu)
    if on_cpu and accelerator.num_processes > 1 and _fsdp_requested():
        plugin = FullyShardedDataParallelPlugin()  # read from the launcher's FSDP_* variables
        if plugin.fsdp_version != 2:
            raise ParallelSetupError(
                "FSDP on CPU processes runs with fsdp_version: 2 only (configs/accelerate/fsdp2.yaml); "
                f"this launch asked for fsdp_version {plugin.fsdp_version}"
            )
        if mixed_precision != "no":
            plugin.set_mixed_precision(mixed_precision)
        state = accelerator.state
        state.fsdp_plugin = plugin
        state.distributed_type = DistributedType.FSDP
        PartialState._shared_state["distributed_type"] = DistributedType.FSDP
    return accelerator


def sharding_of(accelerator: Accelerator) -> Sharding:
    """Whether model or optimizer state is sharded over the processes, and by what.

    Every ZeRO stage partitions the optimizer moments, so any DeepSpeed run checkpoints through its engine.
    """
    if accelerator.distributed_type == DistributedType.DEEPSPEED:
        return "deepspeed"
    if accelerator.distributed_type == DistributedType.FSDP:
        return "fsdp2" if accelerator.is_fsdp2 else "fsdp1"
    return "none"


def gather_fsdp2_model(accelerator: Accelerator, wrapped, model, lora: Callable | None = None):
    """The full weights of an FSDP2 model, gathered onto the main process into an unsharded copy; None elsewhere.

    Collective: every process must call it. `wrapped` is the prepared module (its keys start with `model.`),
    `model` the AyaVision model inside it; `lora` re-applies the stage's adapters to the copy's skeleton.
    """
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    from transformers import AutoModelForImageTextToText

    # cpu_offload with full_state_dict: only the main process receives the tensors (the others get nothing).
    full = get_model_state_dict(wrapped, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if not accelerator.is_main_process:
        return None
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    # Built on the meta device, given memory only to receive the gathered weights: no second read of the init.
    with torch.device("meta"):
        skeleton = AutoModelForImageTextToText.from_config(copy.deepcopy(base.config))
    if lora is not None:
        skeleton = lora(skeleton)
    skeleton = skeleton.to_empty(device="cpu")
    skeleton.tie_weights()
    skeleton.load_state_dict({key.removeprefix("model."): value for key, value in full.items()})
    return skeleton
