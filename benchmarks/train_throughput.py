"""Supervised tokens per second: ayavision's packed trainer against transformers' Trainer with padding.

The same AyaVision model (tens of millions of parameters, random init), the same variable-length
multimodal samples, the same number of samples per optimizer step, in one run. Prints both rates,
their ratio and the padding fractions. Run: `.venv/bin/python benchmarks/train_throughput.py`.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch

from ayavision.model.compose import compose
from ayavision.model.spec import ConnectorSpec, LLMSpec, ModelSpec, TilingSpec, VisionSpec
from ayavision.model.store import save_composed
from ayavision.testing.datasets import make_dataset
from ayavision.train.config import TrainRecipe
from ayavision.train.mixture import load_bucket
from ayavision.train.samples import IGNORE, SampleBuilder
from ayavision.train.trainer import train_stage

BENCH_SPEC = ModelSpec(
    name="bench-30m",
    vision=VisionSpec(
        config={
            "hidden_size": 256,
            "intermediate_size": 1024,
            "num_hidden_layers": 4,
            "num_attention_heads": 4,
            "patch_size": 8,
            "image_size": 64,
        }
    ),
    llm=LLMSpec(
        config={
            "model_type": "llama",
            "hidden_size": 512,
            "intermediate_size": 1536,
            "num_hidden_layers": 8,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "max_position_embeddings": 4096,
            "tie_word_embeddings": True,
        },
        tokenizer="tiny",
    ),
    connector=ConnectorSpec(downsample_factor=2, intermediate_size=2048),
    tiling=TilingSpec(tile_size=64, max_tiles=4),
)


def run_ours(model_dir: Path, data: Path, work: Path, samples_per_step: int, steps: int, seq_len: int) -> dict:
    recipe = TrainRecipe.model_validate(
        {
            "buckets": {"original": {"paths": [str(data)]}},
            "stages": {
                "sft": {
                    "mixture": {"original": 1.0},
                    "max_steps": steps,
                    "global_batch": 2,
                    "micro_batch": 2,
                    "seq_len": seq_len,
                    "warmup_steps": 0,
                    "save_every": 10_000,
                    "pack_buffer": 32,
                    "lr": {"connector": 1e-4, "language_model": 1e-4},
                }
            },
        }
    )
    out = work / "ours"
    started = time.perf_counter()
    train_stage(recipe, "sft", out, init=model_dir, quiet=True)
    elapsed = time.perf_counter() - started
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    timed = metrics[1:]  # the first step pays for warm-up
    seconds = sum(m["supervised_tokens"] / m["supervised_tokens_per_s"] for m in timed)
    return {
        "supervised_tokens_per_s": sum(m["supervised_tokens"] for m in timed) / seconds,
        "padding_fraction": sum(m["padding_fraction"] for m in timed) / len(timed),
        "samples_per_step": sum(m["samples"] for m in metrics) / len(metrics),
        "wall_s": elapsed,
    }


def run_trainer(model_dir: Path, data: Path, work: Path, samples_per_step: int, steps: int) -> dict:
    """The baseline a user would otherwise pick: HF Trainer, one sample per row, padded to the batch maximum."""
    from transformers import AutoModelForImageTextToText, AutoProcessor, Trainer, TrainerCallback, TrainingArguments

    processor = AutoProcessor.from_pretrained(model_dir)
    builder = SampleBuilder(processor, seq_len=100_000)
    records = load_bucket([data])
    pad = processor.tokenizer.pad_token_id

    class Rows(torch.utils.data.Dataset):
        """Tokenised on the fly, as in a typical map-style dataset (ayavision's timing includes this too)."""

        def __len__(self) -> int:
            return len(records)

        def __getitem__(self, i: int) -> dict:
            return {"sample": builder.build(records[i])}

    padding = {"real": 0, "total": 0}

    def collate(items: list[dict]) -> dict:
        batch = [item["sample"] for item in items]
        width = max(len(s) for s in batch)
        ids = torch.full((len(batch), width), pad)
        labels = torch.full((len(batch), width), IGNORE)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for r, s in enumerate(batch):
            ids[r, : len(s)] = torch.tensor(s.input_ids)
            # Trainer's models shift labels themselves: label t is the token at t.
            labels[r, 1 : len(s)] = torch.tensor(s.targets[:-1])
            mask[r, : len(s)] = 1
        padding["real"] += int(mask.sum())
        padding["total"] += mask.numel()
        return {
            "input_ids": ids,
            "labels": labels,
            "attention_mask": mask,
            "pixel_values": torch.cat([s.pixel_values for s in batch]),
        }

    step_ends: list[float] = []

    class Timer(TrainerCallback):
        # From one step's end to the next: loading and collating the batch counts, as it does in ayavision's steps.
        def on_step_end(self, args, state, control, **kwargs):
            step_ends.append(time.perf_counter())

    model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch.float32)
    for name, param in model.named_parameters():
        param.requires_grad_(not name.startswith("model.vision_tower."))
    args = TrainingArguments(
        output_dir=str(work / "trainer"),
        per_device_train_batch_size=samples_per_step,
        max_steps=steps,
        learning_rate=1e-4,
        warmup_steps=0,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
        logging_strategy="no",
        dataloader_num_workers=0,
        remove_unused_columns=False,
        disable_tqdm=True,
        seed=0,
    )
    trainer = Trainer(model=model, args=args, train_dataset=Rows(), data_collator=collate, callbacks=[Timer()])
    supervised_per_step: list[int] = []
    original = trainer.compute_loss

    def counting_loss(model, inputs, *a, **k):
        supervised_per_step.append(int((inputs["labels"] != IGNORE).sum()))
        return original(model, inputs, *a, **k)

    trainer.compute_loss = counting_loss
    started = time.perf_counter()
    trainer.train()
    elapsed = time.perf_counter() - started
    return {
        "supervised_tokens_per_s": sum(supervised_per_step[1:]) / (step_ends[-1] - step_ends[0]),
        "padding_fraction": 1 - padding["real"] / padding["total"],
        "samples_per_step": samples_per_step,
        "wall_s": elapsed,
    }


def make_data(kind: str, out: Path, samples: int) -> Path:
    languages = ("eng_Latn", "fra_Latn", "deu_Latn")
    if kind == "synthetic":
        return make_dataset(out, samples, languages=languages, long_answers=True)
    from ayavision.world import make_world_dataset

    make_world_dataset(out, n=samples, seed=0, languages=languages)
    return out / "data.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=160)
    parser.add_argument(
        "--data",
        choices=["synthetic", "world"],
        default="synthetic",
        help="synthetic: 1-5 tiles, answers of 1-6 sentences; world: a shapes-world SFT mix (one-word answers, "
        "captions, detailed descriptions, two-image differences), the length spread of a real mixture",
    )
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--seq-len", type=int, default=1024)
    args = parser.parse_args()
    torch.manual_seed(0)
    work = Path(tempfile.mkdtemp(prefix="ayavision-bench-"))
    try:
        model_dir = work / "model"
        composed = compose(BENCH_SPEC)
        params = sum(p.numel() for p in composed.model.parameters())
        save_composed(composed, model_dir, BENCH_SPEC)
        data = make_data(args.data, work / "data", args.samples)
        ours = run_ours(model_dir, data, work, 0, args.steps, args.seq_len)
        per_step = max(1, round(ours["samples_per_step"]))
        baseline = run_trainer(model_dir, data, work, per_step, args.steps)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = ours["supervised_tokens_per_s"] / baseline["supervised_tokens_per_s"]
    print(
        f"model: {params / 1e6:.1f}M parameters; {args.data} data; {args.steps} steps of ~{per_step} samples; torch "
        f"{torch.__version__}; {platform.machine()} x {torch.get_num_threads()} threads"
    )
    print(
        f"ayavision (packed, seq_len {args.seq_len}): {ours['supervised_tokens_per_s']:,.0f} supervised tok/s, "
        f"padding {ours['padding_fraction']:.1%}"
    )
    print(
        f"transformers Trainer (padded batches):  {baseline['supervised_tokens_per_s']:,.0f} supervised tok/s, "
        f"padding {baseline['padding_fraction']:.1%}"
    )
    print(f"ratio ayavision / Trainer: {ratio:.2f}x (target >= 1.5)")


if __name__ == "__main__":
    main()
