"""SFT step throughput, MFU and peak memory for the aya-vision-8b shape on one GPU (random init, bf16).

One prepared script that finishes in minutes: builds the 8B shape directly on the device, packs synthetic
multimodal samples to 8192 tokens, enables gradient checkpointing, trains the connector and LLM (vision tower
frozen, as in stage 2) with AdamW, and prints tokens/s, MFU and peak memory. On a CPU, `--shape tiny` exercises
the same code path in seconds. Usage:
    python benchmarks/gpu_sft_step.py --shape aya-vision-8b --steps 6 --peak-tflops 989   # H200 bf16 dense
    python benchmarks/gpu_sft_step.py --shape tiny --steps 2 --seq-len 512 --device cpu
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ayavision.model.compose import assemble_config
from ayavision.model.presets import get_preset
from ayavision.model.tokens import train_tiny_tokenizer
from ayavision.model.vision import resolve_encoder
from ayavision.train.loss import SupervisedLM
from ayavision.train.metrics import flops_per_token
from ayavision.train.optim import freeze_for_stage
from ayavision.train.samples import IGNORE


def packed_row(config, seq_len: int, tiles_per_sample: int, generator: torch.Generator):
    """Samples of [image tokens | prompt | answer] packed into one row, positions restarting per sample."""
    per_tile = (config.vision_config.image_size // (config.vision_config.patch_size * config.downsample_factor)) ** 2
    image_tokens = tiles_per_sample * per_tile
    vocab = config.text_config.vocab_size
    ids, positions, targets, tiles = [], [], [], 0
    while True:
        # Answer and prompt lengths scale with the row: 128-512 and 32-128 tokens at 8192.
        answer = int(torch.randint(seq_len // 64, seq_len // 16, (1,), generator=generator))
        prompt = int(torch.randint(seq_len // 256 + 1, seq_len // 64 + 2, (1,), generator=generator))
        length = image_tokens + prompt + answer
        if len(ids) + length > seq_len:
            break
        sample = [config.image_token_index] * image_tokens + torch.randint(
            10, vocab - 10, (prompt + answer,), generator=generator
        ).tolist()
        target = [IGNORE] * (image_tokens + prompt - 1) + sample[image_tokens + prompt :] + [IGNORE]
        ids += sample
        targets += target
        positions += list(range(length))
        tiles += tiles_per_sample
    pad = seq_len - len(ids)
    ids += [0] * pad
    targets += [IGNORE] * pad
    positions += list(range(pad))
    return torch.tensor([ids]), torch.tensor([positions]), torch.tensor([targets]), tiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="aya-vision-8b", choices=["tiny", "aya-vision-8b", "aya-vision-32b"])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--seq-len", type=int, default=8192)
    parser.add_argument("--tiles-per-sample", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--peak-tflops", type=float, default=None, help="device peak (bf16 dense) for MFU")
    args = parser.parse_args()

    spec = get_preset(args.shape)
    encoder = resolve_encoder(spec.vision, spec.tiling.tile_size, spec.connector.downsample_factor)
    tokenizer = train_tiny_tokenizer() if args.shape == "tiny" else None
    config = assemble_config(spec, encoder.config, tokenizer)
    if tokenizer is None:
        config.image_token_index = config.text_config.vocab_size - 1
    dtype = torch.bfloat16 if args.device != "cpu" else torch.float32
    from transformers import AyaVisionForConditionalGeneration

    config.text_config._attn_implementation = "sdpa"
    started = time.perf_counter()
    with torch.device(args.device):
        model = AyaVisionForConditionalGeneration._from_config(config, dtype=dtype)
    build_s = time.perf_counter() - started
    freeze_for_stage(model, ("connector", "language_model"), lora=False)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    wrapped = SupervisedLM(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-5, betas=(0.9, 0.95))
    generator = torch.Generator().manual_seed(0)
    tile = config.vision_config.image_size
    token_flops = flops_per_token(model)
    timings, tokens = [], []
    for step in range(args.steps):
        ids, positions, targets, tiles = packed_row(config, args.seq_len, args.tiles_per_sample, generator)
        pixels = torch.randn(tiles, 3, tile, tile, generator=generator).to(args.device, dtype)
        if args.device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        losses = wrapped(ids.to(args.device), positions.to(args.device), targets.to(args.device), pixels)
        (losses.sum() / losses.numel()).backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if args.device == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - started)
        tokens.append(int((targets != IGNORE).sum()))
        print(f"step {step + 1}: {timings[-1]:.2f}s, loss {float(losses.mean()):.3f}", flush=True)
    timed = slice(1, None) if len(timings) > 1 else slice(0, None)  # the first step pays for kernel warm-up
    seconds = sum(timings[timed])
    tokens_per_s = args.seq_len * len(timings[timed]) / seconds
    result = {
        "shape": args.shape,
        "device": torch.cuda.get_device_name() if args.device == "cuda" else args.device,
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable": sum(p.numel() for p in trainable),
        "seq_len": args.seq_len,
        "steps_timed": len(timings[timed]),
        "build_s": round(build_s, 1),
        "tokens_per_s": round(tokens_per_s, 1),
        "supervised_tokens_per_s": round(sum(tokens[timed]) / seconds, 1),
        "mfu": round(tokens_per_s * token_flops / (args.peak_tflops * 1e12), 4) if args.peak_tflops else None,
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1) if args.device == "cuda" else None,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
