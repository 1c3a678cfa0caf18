"""Run one training stage with accelerate: one code path for one CPU, DDP processes, FSDP or DeepSpeed."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import DistributedType
from transformers import AutoProcessor

from ayavision.errors import AyaVisionError
from ayavision.model.compat import load_vlm
from ayavision.model.store import save_model
from ayavision.train.config import StageConfig, TrainRecipe
from ayavision.train.data_stream import Prefetcher, RowStream
from ayavision.train.data_workers import auto_workers
from ayavision.train.loss import SupervisedLM, token_weights, weight_total
from ayavision.train.metrics import MetricsLog, TrainProgress, flops_per_token
from ayavision.train.mixture import MixtureReport
from ayavision.train.optim import apply_lora, build_optimizer, freeze_for_stage, warmup_cosine
from ayavision.train.packing import collate
from ayavision.train.parallel import gather_fsdp2_model, make_accelerator, sharding_of
from ayavision.train.samples import IGNORE, Sample
from ayavision.train.sharded import (
    ResumeError,
    checkpoint_format,
    load_sharded_checkpoint,
    save_sharded_checkpoint,
)
from ayavision.train.state import latest_checkpoint, load_checkpoint, save_checkpoint
from ayavision.utils.fs import atomic_dir, atomic_write_text

MIXED_PRECISION = {"float32": "no", "bfloat16": "bf16", "float16": "fp16"}
COMPLETE = "COMPLETE"
# Tests set this to end the process abruptly after a step, as a kill -9 would, to prove resumption.
CRASH_AFTER_STEP_ENV = "AYAVISION_CRASH_AFTER_STEP"


class TrainSetupError(AyaVisionError, ValueError):
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


def _stop_ids(folder: Path) -> int | list[int] | None:
    """The model's stop tokens as its loaded generation config will have them, read without loading the model."""
    from transformers import AutoConfig, GenerationConfig

    try:
        return GenerationConfig.from_pretrained(folder).eos_token_id
    except OSError:  # no generation_config.json: transformers derives one from the model's config
        return GenerationConfig.from_model_config(AutoConfig.from_pretrained(folder)).eos_token_id


def _crash_step(stage_name: str) -> int:
    """`N` or `STAGE:N` from the crash variable: tests kill one stage of a whole recipe this way."""
    value = os.environ.get(CRASH_AFTER_STEP_ENV, "")
    stage, _, step = value.rpartition(":")
    if not step or (stage and stage != stage_name):
        return 0
    return int(step)


def batch_layout(stage: StageConfig, world: int) -> tuple[int, int]:
    """(rows per process, micro-steps per optimizer step) for the stage's global batch."""
    if stage.global_batch % world:
        raise TrainSetupError(f"global_batch {stage.global_batch} is not divisible by the {world} processes")
    rows_per_process = stage.global_batch // world
    if rows_per_process % stage.micro_batch:
        raise TrainSetupError(
            f"global_batch / processes = {rows_per_process} rows is not a multiple of micro_batch {stage.micro_batch}"
        )
    return rows_per_process, rows_per_process // stage.micro_batch


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
    """Train one stage of a recipe from `init` into `out` (checkpoints, metrics, final model)."""
    run = StageRun(recipe, stage_name, Path(out), init, max_steps, resume, peak_tflops, quiet)
    return run.train()


class StageRun:
    """Everything one stage needs, set up and validated before the first step."""

    def __init__(
        self,
        recipe: TrainRecipe,
        stage_name: str,
        out: Path,
        init: Path | None,
        max_steps: int | None,
        resume: bool,
        peak_tflops: float | None,
        quiet: bool,
    ) -> None:
        if stage_name not in recipe.stages:
            raise TrainSetupError(f"stage {stage_name!r} is not in the recipe; stages: {sorted(recipe.stages)}")
        self.stage_name, self.stage, self.out = stage_name, recipe.stages[stage_name], out
        self.init_dir = resolve_init(init, recipe)
        if out.exists() and any(out.iterdir()) and not resume:
            raise TrainSetupError(f"{out} exists and is not empty; pass --resume to continue it, or another --out")
        checkpoint = latest_checkpoint(out) if resume else None
        stage = self.stage
        self.accelerator = make_accelerator(MIXED_PRECISION[stage.dtype])
        self.world = self.accelerator.num_processes
        self.sharding = sharding_of(self.accelerator)
        kind = checkpoint_format(checkpoint) if checkpoint is not None else None
        if kind == "plain" and self.sharding != "none":
            raise ResumeError(
                f"{checkpoint} was written by an unsharded run (one process or DDP) and this launch shards the "
                f"optimizer ({self.sharding}): resume it with the launch that wrote it"
            )
        self.rows_per_process, self.micro_steps = batch_layout(stage, self.world)
        self.peak_tflops, self.quiet = peak_tflops, quiet
        torch.manual_seed(stage.seed)

        self.processor = AutoProcessor.from_pretrained(self.init_dir)
        local = int(os.environ.get("LOCAL_WORLD_SIZE", self.world))
        self.workers = stage.num_workers if stage.num_workers != "auto" else auto_workers(local)
        # Data workers are forked before the model loads: a worker forked later would keep the CPU copy of the
        # weights alive after the training process has moved or sharded them.
        self.stream = RowStream(recipe, stage, self.processor, _stop_ids(self.init_dir), workers=self.workers)
        try:  # the stream's worker processes must not outlive a failed set-up
            # A sharded checkpoint's weights are read into the prepared model below; a plain one's folder loads here.
            self.model = self._load_model(checkpoint if kind == "plain" else None)
            self.parts = stage.parts(stage_name)
            self.frozen_summary = freeze_for_stage(self.model, self.parts, lora=stage.lora is not None)
            if stage.gradient_checkpointing:
                self.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            self.total_steps = max_steps or stage.max_steps or self._steps_for_epochs()
            self.optimizer = build_optimizer(self.model, stage, stage_name)
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(
                self.optimizer, warmup_cosine(stage.warmup_steps, self.total_steps, stage.min_lr_ratio)
            )
            state = load_checkpoint(checkpoint, self.optimizer, self.scheduler) if kind == "plain" else None
            self.wrapped, self.optimizer = self.accelerator.prepare(SupervisedLM(self.model), self.optimizer)
            if kind in ("dcp", "deepspeed"):
                state = load_sharded_checkpoint(
                    self.accelerator, checkpoint, self.wrapped, self.optimizer, self.scheduler, self.sharding
                )
            self.start_step = 0
            if state is not None:
                self.stream.load_state_dict(state["data"])
                self.start_step = int(state["step"])
        except BaseException:
            self.stream.close()
            raise
        self.consumed_state = self.stream.state_dict()
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.token_flops = flops_per_token(self.model)
        self.log = MetricsLog(out / "metrics.jsonl", enabled=self.accelerator.is_main_process)

    def _load_model(self, checkpoint: Path | None):
        # A resumed full fine-tune starts from the checkpoint's weights; a LoRA run from init plus its saved adapter.
        lora = self.stage.lora is not None
        weights = checkpoint / "model" if checkpoint is not None and not lora else self.init_dir
        model = load_vlm(weights, torch.float32)
        if self.stage.packing and model.config.get_text_config()._attn_implementation == "sdpa":
            # Packed rows: causal SDPA per sample instead of a block-diagonal mask (see train/attention.py).
            from ayavision.train.attention import PACKED_SDPA

            model.set_attn_implementation({"text_config": PACKED_SDPA})
        if lora:
            model = apply_lora(model, self.stage)
            if checkpoint is not None:
                from peft import set_peft_model_state_dict
                from safetensors.torch import load_file

                adapter = checkpoint / "model" / "adapter" / "adapter_model.safetensors"
                set_peft_model_state_dict(model, load_file(str(adapter)))
        return model

    def _steps_for_epochs(self) -> int:
        """Steps for `epochs` passes over the mixture, with samples per row measured on a look-ahead."""
        stage = self.stage
        assert stage.epochs is not None
        samples_per_row = 1.0
        if stage.packing:
            state = self.stream.state_dict()
            probe = self.stream.next_rows(min(32, stage.global_batch))
            samples_per_row = sum(len(row) for row in probe) / len(probe)
            self.stream.load_state_dict(state)
        size = self.stream.sampler.size()
        return max(1, math.ceil(stage.epochs * size / (samples_per_row * stage.global_batch)))

    def train(self) -> TrainResult:
        accelerator, stage = self.accelerator, self.stage
        if accelerator.is_main_process:
            self.out.mkdir(parents=True, exist_ok=True)
            self.log.truncate_after(self.start_step)
            self._write_config()
        progress = TrainProgress(
            self.total_steps, self.start_step, enabled=accelerator.is_main_process and not self.quiet
        )
        crash_after = _crash_step(self.stage_name)
        losses = []
        own = (accelerator.process_index * self.rows_per_process, self.rows_per_process)
        prefetcher = Prefetcher(self.stream, stage.global_batch, own)
        try:
            for step in range(self.start_step + 1, self.total_steps + 1):
                started = time.perf_counter()
                rows, self.consumed_state = prefetcher.next()
                record = self._step(step, rows, started)
                losses.append(record["loss"])
                if step % stage.log_every == 0 or step == self.total_steps:
                    self.log.write(record)
                progress.update(step, record["loss"], record["lr"], record["tokens_per_s"])
                if step % stage.save_every == 0 or step == self.total_steps:
                    self._checkpoint(step)
                if crash_after and step == crash_after:
                    os._exit(137)
        finally:
            prefetcher.close()
            self.stream.close()
            progress.close()
        model_dir = self.out / "model"
        saveable = self._saveable()
        if accelerator.is_main_process:
            self._write_final(model_dir, saveable)
        accelerator.wait_for_everyone()
        accelerator.end_training()
        return TrainResult(self.out, model_dir, self.total_steps, losses)

    def _step(self, step: int, rows: list[list[Sample]], started: float) -> dict:
        accelerator, stage = self.accelerator, self.stage
        data_ready = time.perf_counter()
        global_supervised = sum(s.supervised for row in rows for s in row)
        weighting = stage.loss_weighting
        total_weight = weight_total([s.supervised for row in rows for s in row], weighting)
        first = accelerator.process_index * self.rows_per_process
        mine = rows[first : first + self.rows_per_process]
        pad_id = self.processor.tokenizer.pad_token_id
        loss_sum = torch.zeros((), dtype=torch.float64, device=accelerator.device)
        real_tokens = padded_tokens = 0
        for micro in range(self.micro_steps):
            micro_rows = mine[micro * stage.micro_batch : (micro + 1) * stage.micro_batch]
            batch = collate(micro_rows, pad_id, length=stage.seq_len if stage.packing else None)
            real_tokens += batch.real_tokens
            padded_tokens += batch.input_ids.numel()
            batch = batch.to(accelerator.device)
            last = micro == self.micro_steps - 1
            with contextlib.nullcontext() if last else accelerator.no_sync(self.wrapped):
                token_losses = self.wrapped(batch.input_ids, batch.position_ids, batch.targets, batch.pixel_values)
                # The weights sum to 1 over the global batch; DDP then averages over processes, so the world size
                # cancels and every process count gives the same gradient.
                if weighting == "token":  # the same float operations as before weightings existed: same results
                    summed = token_losses.sum()
                    weighted = summed / max(1, global_supervised)
                    accelerator.backward(summed * self.world / max(1, global_supervised))
                else:
                    counts = [s.supervised for row in micro_rows for s in row]
                    owners = batch.sample_index[batch.targets != IGNORE]
                    weights = token_weights(counts, owners, weighting, total_weight)
                    weighted = (token_losses * weights).sum()
                    accelerator.backward(weighted * self.world)
            loss_sum += weighted.detach().double()
        computed = time.perf_counter()
        grad_norm = accelerator.clip_grad_norm_(self.trainable, stage.max_grad_norm or float("inf"))
        # The rates this update uses: read before the scheduler moves them on to the next step's.
        used_lr = {group["part"]: group["lr"] for group in self.optimizer.param_groups}
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        totals = accelerator.reduce(
            torch.tensor([loss_sum.item(), real_tokens, padded_tokens], dtype=torch.float64, device=accelerator.device),
            reduction="sum",
        )
        elapsed = time.perf_counter() - started
        tokens_per_s = float(totals[1]) / elapsed
        mfu = tokens_per_s * self.token_flops / (self.peak_tflops * 1e12 * self.world) if self.peak_tflops else None
        return {
            "step": step,
            "loss": float(totals[0]),  # the weighted mean the step minimised (token weighting: per token)
            "lr": used_lr,
            "grad_norm": float(grad_norm),
            "supervised_tokens": global_supervised,
            "supervised_tokens_per_s": global_supervised / elapsed,
            "tokens_per_s": tokens_per_s,
            "padding_fraction": 1 - float(totals[1]) / max(1.0, float(totals[2])),
            "samples": sum(len(row) for row in rows),
            "mfu": mfu,
            # Where the step's time went: waiting for data, forward+backward, clipping+optimizer+logging.
            "seconds": {
                "data": data_ready - started,
                "compute": computed - data_ready,
                "update": elapsed - (computed - started),
            },
        }

    def _saveable(self):
        """The model as plain transformers weights (LoRA adapters merged into a copy); None off the main process.

        Under FSDP or DeepSpeed ZeRO-3 each process holds a shard: the full weights are gathered first,
        a collective call, so every process must come here.
        """
        model = self.model
        if self.sharding == "fsdp2":
            lora = (lambda skeleton: apply_lora(skeleton, self.stage)) if self.stage.lora is not None else None
            model = gather_fsdp2_model(self.accelerator, self.wrapped, self.model, lora)
        elif self.accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED):
            full = self.accelerator.get_state_dict(self.wrapped)
            if not self.accelerator.is_main_process:
                return None
            model = copy.deepcopy(self.model).to("cpu")
            model.load_state_dict({key.removeprefix("model."): value for key, value in full.items()})
        if not self.accelerator.is_main_process:
            return None
        if hasattr(model, "merge_and_unload"):
            return copy.deepcopy(model).merge_and_unload()
        return model

    def _checkpoint(self, step: int) -> None:
        state = {"step": step, "data": self.consumed_state}
        if self.sharding != "none":
            # Each process writes its own shards of weights and optimizer moments: nothing is gathered.
            save_sharded_checkpoint(
                self.accelerator,
                self.out,
                step,
                self.wrapped,
                self.optimizer,
                self.scheduler,
                state,
                self.stage.keep_checkpoints,
                self.sharding,
            )
            return
        self.accelerator.wait_for_everyone()
        saveable = self._saveable()
        if self.accelerator.is_main_process:
            folder = save_checkpoint(
                self.out,
                step,
                saveable,
                self.processor,
                self.optimizer,
                self.scheduler,
                {**state, "world_size": self.world},
                self.stage.keep_checkpoints,
            )
            if hasattr(self.model, "peft_config"):
                self.model.save_pretrained(folder / "model" / "adapter")
        self.accelerator.wait_for_everyone()

    def _write_config(self) -> None:
        config = {
            "stage": self.stage_name,
            "init": str(self.init_dir),
            "total_steps": self.total_steps,
            "world_size": self.world,
            "sharding": self.sharding,
            "data_workers": self.workers,
            "parts_trained": list(self.parts),
            "parameters": self.frozen_summary,
            "config": self.stage.model_dump(mode="json"),
        }
        atomic_write_text(self.out / "train_config.json", json.dumps(config, indent=1))
        if not self.quiet:
            from rich.console import Console

            console = Console(stderr=True)
            for part, counts in sorted(self.frozen_summary.items()):
                state = "trains" if counts["trainable"] else "frozen"
                console.print(f"  {part}: {state} ({counts['trainable']:,} trainable, {counts['frozen']:,} frozen)")

    def _write_final(self, model_dir: Path, saveable) -> None:
        with atomic_dir(model_dir, overwrite=True) as tmp:
            save_model(saveable, self.processor, tmp)
        report = MixtureReport()
        report.load_state_dict(self.consumed_state["report"])
        atomic_write_text(self.out / "data_report.json", json.dumps(report.to_dict(), indent=1, ensure_ascii=False))
        atomic_write_text(self.out / COMPLETE, "")
