"""Run one training stage with accelerate: one code path for one CPU, DDP processes, FSDP or DeepSpeed."""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from transformers import AutoModelForImageTextToText, AutoProcessor

from ayavision.train.config import StageConfig, TrainRecipe
from ayavision.train.data_stream import RowStream
from ayavision.train.loss import SupervisedLM
from ayavision.train.metrics import MetricsLog, TrainProgress, flops_per_token
from ayavision.train.optim import apply_lora, build_optimizer, freeze_for_stage, warmup_cosine
from ayavision.train.packing import collate
from ayavision.train.state import latest_checkpoint, load_checkpoint, save_checkpoint
from ayavision.utils.fs import atomic_dir, atomic_write_text

MIXED_PRECISION = {"float32": "no", "bfloat16": "bf16", "float16": "fp16"}
COMPLETE = "COMPLETE"
# Tests set this to end the process abruptly after a step, as a kill -9 would, to prove resumption.
CRASH_AFTER_STEP_ENV = "AYAVISION_CRASH_AFTER_STEP"


class TrainSetupError(ValueError):
    """A problem found before any training work starts."""


@dataclass
class TrainResult:
    out: Path
    model_dir: Path
    steps: int
    losses: list[float]


def resolve_init(init: Path | None, recipe: TrainRecipe) -> Path:
    """The model a stage starts from; a previous stage's output folder stands for its `model/`."""
    chosen = init or recipe.init
    if chosen is None:
        raise TrainSetupError(
            "no model to start from: pass --init DIR (a build-model folder or a previous stage's out)"
        )
    chosen = Path(chosen)
    if (chosen / "model" / "config.json").exists():
        chosen = chosen / "model"
    if not (chosen / "config.json").exists():
        raise TrainSetupError(f"--init {chosen}: not a model folder (no config.json)")
    return chosen


def train_stage(
    recipe: TrainRecipe,
    stage_name: str,
    out: Path,
    init: Path | None = None,
    max_steps: int | None = None,
    resume: bool = False,
    peak_tflops: float | None = None,
    quiet: bool = False,
) -> TrainResult:
    if stage_name not in recipe.stages:
        raise TrainSetupError(f"stage {stage_name!r} is not in the recipe; stages: {sorted(recipe.stages)}")
    stage = recipe.stages[stage_name]
    init_dir = resolve_init(init, recipe)
    out = Path(out)
    checkpoint = latest_checkpoint(out) if resume else None
    if out.exists() and any(out.iterdir()) and not resume:
        raise TrainSetupError(f"{out} exists and is not empty; pass --resume to continue it, or choose another --out")

    accelerator = Accelerator(mixed_precision=MIXED_PRECISION[stage.dtype], cpu=not torch.cuda.is_available())
    world = accelerator.num_processes
    rows_per_process, micro_steps = _batch_layout(stage, world)
    torch.manual_seed(stage.seed)

    processor = AutoProcessor.from_pretrained(init_dir)
    # A resumed full fine-tune starts from the checkpoint's weights; a LoRA run from init plus its saved adapter.
    weights = checkpoint / "model" if checkpoint is not None and stage.lora is None else init_dir
    model = AutoModelForImageTextToText.from_pretrained(weights, dtype=torch.float32)
    parts = stage.parts(stage_name)
    if stage.lora is not None:
        model = apply_lora(model, stage)
        if checkpoint is not None:
            from peft import set_peft_model_state_dict
            from safetensors.torch import load_file

            set_peft_model_state_dict(
                model, load_file(str(checkpoint / "model" / "adapter" / "adapter_model.safetensors"))
            )
    frozen_summary = freeze_for_stage(model, parts, lora=stage.lora is not None)
    if stage.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    stream = RowStream(recipe, stage, processor)
    total_steps = max_steps or stage.max_steps or _steps_for_epochs(stage, stream, world)
    optimizer = build_optimizer(model, stage, stage_name)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(stage.warmup_steps, total_steps, stage.min_lr_ratio)
    )
    start_step = 0
    if checkpoint is not None:
        state = load_checkpoint(checkpoint, optimizer, scheduler)
        stream.load_state_dict(state["data"])
        start_step = int(state["step"])
    wrapped, optimizer = accelerator.prepare(SupervisedLM(model), optimizer)

    log = MetricsLog(out / "metrics.jsonl", enabled=accelerator.is_main_process)
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        log.truncate_after(start_step)
        atomic_write_text(
            out / "train_config.json",
            json.dumps(
                {
                    "stage": stage_name,
                    "init": str(init_dir),
                    "total_steps": total_steps,
                    "world_size": world,
                    "parts_trained": list(parts),
                    "parameters": frozen_summary,
                    "config": stage.model_dump(mode="json"),
                },
                indent=1,
            ),
        )
        _announce(frozen_summary, parts, quiet)

    pad_id = processor.tokenizer.pad_token_id
    token_flops = flops_per_token(model)
    progress = TrainProgress(total_steps, start_step, enabled=accelerator.is_main_process and not quiet)
    crash_after = int(os.environ.get(CRASH_AFTER_STEP_ENV, "0"))
    losses: list[float] = []
    trainable = [p for p in model.parameters() if p.requires_grad]
    for step in range(start_step + 1, total_steps + 1):
        started = time.perf_counter()
        rows = stream.next_rows(stage.global_batch)
        global_supervised = sum(s.supervised for row in rows for s in row)
        mine = rows[accelerator.process_index * rows_per_process : (accelerator.process_index + 1) * rows_per_process]
        local_loss_sum = torch.zeros((), dtype=torch.float64, device=accelerator.device)
        real_tokens = padded_tokens = 0
        for micro in range(micro_steps):
            batch_rows = mine[micro * stage.micro_batch : (micro + 1) * stage.micro_batch]
            batch = collate(batch_rows, pad_id, length=stage.seq_len if stage.packing else None)
            real_tokens += batch.real_tokens
            padded_tokens += batch.input_ids.numel()
            batch = batch.to(accelerator.device)
            sync = micro == micro_steps - 1
            with contextlib.nullcontext() if sync else accelerator.no_sync(wrapped):
                token_losses = wrapped(batch.input_ids, batch.position_ids, batch.targets, batch.pixel_values)
                # Sum over tokens / all supervised tokens of the global batch; DDP averages over processes.
                loss = token_losses.sum() * world / max(1, global_supervised)
                accelerator.backward(loss)
            local_loss_sum += token_losses.detach().double().sum()
        grad_norm = accelerator.clip_grad_norm_(trainable, stage.max_grad_norm or float("inf"))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

        totals = accelerator.reduce(
            torch.tensor(
                [local_loss_sum.item(), real_tokens, padded_tokens], dtype=torch.float64, device=accelerator.device
            ),
            reduction="sum",
        )
        step_loss = float(totals[0]) / max(1, global_supervised)
        losses.append(step_loss)
        elapsed = time.perf_counter() - started
        tokens_per_s = float(totals[1]) / elapsed
        record = {
            "step": step,
            "loss": step_loss,
            "lr": {g["part"]: g["lr"] for g in optimizer.param_groups},
            "grad_norm": float(grad_norm),
            "supervised_tokens": global_supervised,
            "supervised_tokens_per_s": global_supervised / elapsed,
            "tokens_per_s": tokens_per_s,
            "padding_fraction": 1 - float(totals[1]) / max(1.0, float(totals[2])),
            "samples": sum(len(row) for row in rows),
            "mfu": (tokens_per_s * token_flops / (peak_tflops * 1e12 * world)) if peak_tflops else None,
        }
        if step % stage.log_every == 0 or step == total_steps:
            log.write(record)
        progress.update(step, step_loss, record["lr"], tokens_per_s)
        if step % stage.save_every == 0 or step == total_steps:
            _checkpoint(accelerator, out, step, model, processor, optimizer, scheduler, stream, stage)
        if crash_after and step == crash_after:
            os._exit(137)
    progress.close()

    model_dir = out / "model"
    if accelerator.is_main_process:
        _write_final(model, processor, model_dir, stream, out)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return TrainResult(out, model_dir, total_steps, losses)


def _batch_layout(stage: StageConfig, world: int) -> tuple[int, int]:
    if stage.global_batch % world:
        raise TrainSetupError(f"global_batch {stage.global_batch} is not divisible by the {world} processes")
    rows_per_process = stage.global_batch // world
    if rows_per_process % stage.micro_batch:
        raise TrainSetupError(
            f"global_batch / processes = {rows_per_process} rows is not a multiple of micro_batch {stage.micro_batch}"
        )
    return rows_per_process, rows_per_process // stage.micro_batch


def _steps_for_epochs(stage: StageConfig, stream: RowStream, world: int) -> int:
    """Steps for `epochs` passes over the mixture's samples, with samples per row measured on a look-ahead."""
    assert stage.epochs is not None
    samples_per_row = 1.0
    if stage.packing:
        state = stream.state_dict()
        probe = stream.next_rows(min(32, stage.global_batch))
        samples_per_row = sum(len(row) for row in probe) / len(probe)
        stream.load_state_dict(state)
        stream.report = type(stream.report)()  # the probe does not count as training
    return max(1, math.ceil(stage.epochs * stream.sampler.size() / (samples_per_row * stage.global_batch)))


def _checkpoint(accelerator, out, step, model, processor, optimizer, scheduler, stream, stage) -> None:
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        save_checkpoint(
            out,
            step,
            _saveable(model),
            processor,
            optimizer,
            scheduler,
            {"step": step, "data": stream.state_dict()},
            stage.keep_checkpoints,
        )
        if hasattr(model, "get_base_model"):
            model.save_pretrained(out / "checkpoints" / f"step-{step:08d}" / "model" / "adapter")
    accelerator.wait_for_everyone()


def _saveable(model):
    """The model as plain transformers weights: LoRA adapters merged into a copy."""
    if hasattr(model, "merge_and_unload"):
        import copy

        return copy.deepcopy(model).merge_and_unload()
    return model


def _write_final(model, processor, model_dir: Path, stream: RowStream, out: Path) -> None:
    with atomic_dir(model_dir, overwrite=True) as tmp:
        _saveable(model).save_pretrained(tmp)
        processor.save_pretrained(tmp)
    atomic_write_text(out / "data_report.json", json.dumps(stream.report.to_dict(), indent=1, ensure_ascii=False))
    atomic_write_text(out / COMPLETE, "")


def _announce(summary: dict[str, dict[str, int]], parts, quiet: bool) -> None:
    if quiet:
        return
    from rich.console import Console

    console = Console(stderr=True)
    for part, counts in sorted(summary.items()):
        state = "trains" if counts["trainable"] else "frozen"
        console.print(f"  {part}: {state} ({counts['trainable']:,} trainable, {counts['frozen']:,} frozen)")
