"""Input pipeline throughput at the aya-vision-8b settings, against a plain processor loop and one GPU's appetite.

The data: JPEG photos of the sizes cameras and datasets have (640x480 to 2000x1500, landscape and portrait,
smooth colour fields with grain, quality 90), one per record, with a short question and a ~120-word answer (the
length of the paper's recaptioned answers). The processor: 364 px tiles, up to 12 tiles plus the thumbnail
(GotOcr2 tiling, as the released model), the project's tiny tokenizer with the image tokens. Measured, one after
another in one run:

1. ayavision's stream (`train.data_stream.RowStream`: plan, pack to 8192, decode and tile) with 0 workers (the
   training process's own thread), 1, 2 and all cores' workers: samples and tiles per second, pixels made for
   every row (one training process). Its planning part alone (tokens from image headers, what every process of
   a multi-GPU run does for every sample of the global batch) is timed too.
2. The baseline: transformers' AyaVisionProcessor called plainly on the same records in one process (open the
   image, render the chat template, `processor(text=..., images=...)`), as a `map()` over a dataset does.
3. What one GPU consumes: an H200 (989 TFLOP/s bf16 dense) at 45% MFU on the aya-vision-8b shape in the SFT stage
   (connector + LLM trained), with the trainer's own FLOPs-per-token estimate (`train.metrics.flops_per_token`,
   the one behind its MFU figure), turned into samples and tiles per second with this data's tokens per sample.

Prints one JSON line per measurement and a summary line with the ratios. Usage:
    .venv/bin/python benchmarks/input_pipeline.py [--samples 48] [--workers 0,1,2] [--repeats 2] [--photos 24]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

H200_BF16_TFLOPS = 989.0
MFU = 0.45
SIZES = [(640, 480), (800, 600), (1024, 768), (1280, 960), (1600, 1200), (2000, 1500)]
CAPTION = (
    "the image shows a wide street with old stone houses on both sides and a few people walking near a small "
    "market where fruit and bread are sold under red and white awnings while the light of late afternoon falls "
    "across the facades and a bicycle leans against a lamp post beside a blue door"
)


def make_photos(folder: Path, count: int, seed: int = 0) -> Path:
    """`count` records, one JPEG photo each, sizes cycling over SIZES (every third one portrait)."""
    rng = np.random.default_rng(seed)
    words = CAPTION.split()
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(count):
        width, height = SIZES[i % len(SIZES)]
        if i % 3 == 2:
            width, height = height, width
        # A smooth colour field (a 12x9 grid upsampled) plus sensor-like grain: compresses and decodes like a photo.
        field = Image.fromarray(rng.integers(0, 256, (9, 12, 3), dtype=np.uint8)).resize((width, height), 3)
        pixels = np.asarray(field, dtype=np.int16) + rng.normal(0, 6, (height, width, 3)).astype(np.int16)
        name = f"images/{i:04d}.jpg"
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(folder / name, quality=90)
        answer = " ".join(rng.choice(words, size=120)).capitalize() + "."
        record = {
            "id": f"photo-{i}",
            "images": [name],
            "messages": [
                {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe this photo."}]},
                {"role": "assistant", "content": [{"type": "text", "text": answer}]},
            ],
            "language": "eng_Latn",
            "task": "captioning",
            "source": "benchmark",
            "bucket": "original",
        }
        lines.append(json.dumps(record))
    path = folder / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def processor_8b():
    """An AyaVisionProcessor with the aya-vision-8b tiling and the project's tiny tokenizer."""
    from ayavision.model.chat_format import install_chat_template
    from ayavision.model.presets import get_preset
    from ayavision.model.processor import build_processor
    from ayavision.model.tokens import add_multimodal_tokens, train_tiny_tokenizer

    spec = get_preset("aya-vision-8b")
    tokenizer = train_tiny_tokenizer()
    add_multimodal_tokens(tokenizer, spec.tiling.max_tiles)
    install_chat_template(tokenizer)
    patch = spec.vision.config["patch_size"]
    tiling = spec.tiling
    factor = spec.connector.downsample_factor
    return build_processor(tokenizer, tiling.tile_size, patch, factor, tiling.min_tiles, tiling.max_tiles)


def _recipe(data: Path):
    from ayavision.train.config import TrainRecipe

    stage = {"mixture": {"photos": 1.0}, "max_steps": 1, "seq_len": 8192, "pack_buffer": 8}
    recipe = TrainRecipe.model_validate({"buckets": {"photos": {"paths": [data]}}, "stages": {"sft": stage}})
    return recipe, recipe.stages["sft"]


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_ours(data: Path, processor, workers: int, samples: int) -> dict:
    """The trainer's stream on one process: rows planned and packed, every row's pixels made.

    Wall time is the timed rows'; CPU time is the training process's over those rows plus its workers' over their
    whole life (start and warm-up included, so the CPU figure errs high), against every sample they made pixels for.
    """
    from ayavision.train.data_stream import RowStream

    recipe, stage = _recipe(data)
    children = _cpu_seconds(resource.RUSAGE_CHILDREN)
    stream = RowStream(recipe, stage, processor, workers=workers)
    try:
        warm = stream.next_rows(1)  # warm-up: workers started, look-ahead filled
        stream.add_pixels(warm)
        made = sum(s.tiles for row in warm for s in row)
        done = tiles = 0
        cpu, started = _cpu_seconds(resource.RUSAGE_SELF), time.perf_counter()
        while done < samples:
            rows = stream.next_rows(1)
            stream.add_pixels(rows)
            done += sum(len(row) for row in rows)
            tiles += sum(s.tiles for row in rows for s in row)
        elapsed, cpu = time.perf_counter() - started, _cpu_seconds(resource.RUSAGE_SELF) - cpu
    finally:
        stream.close()  # joins the workers: their CPU time is then counted in RUSAGE_CHILDREN
    cpu += _cpu_seconds(resource.RUSAGE_CHILDREN) - children
    return {
        "samples": done,
        "tiles": tiles,
        "seconds": round(elapsed, 2),
        **_rates(done, tiles, elapsed),
        "tiles_per_cpu_s": round((tiles + made) / cpu, 1) if workers else round(tiles / cpu, 1),
    }


def run_planning(data: Path, processor, samples: int) -> dict:
    """Only the planning part (tokens and lengths from image headers), in the training process."""
    from ayavision.train.data_stream import RowStream

    recipe, stage = _recipe(data)
    stream = RowStream(recipe, stage, processor, workers=0)
    stream.next_rows(1)
    done, tokens, image_tokens, tiles = 0, 0, 0, 0
    patch = processor.tokenizer.convert_tokens_to_ids(processor.img_patch_token)
    cpu, started = _cpu_seconds(resource.RUSAGE_SELF), time.perf_counter()
    while done < samples:
        for row in stream.next_rows(1):
            done += len(row)
            tokens += sum(len(s) for s in row)
            image_tokens += sum(s.input_ids.count(patch) for s in row)
            tiles += sum(s.tiles for s in row)
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds(resource.RUSAGE_SELF) - cpu
    return {
        "samples": done,
        "seconds": round(elapsed, 2),
        "samples_per_s": round(done / elapsed, 1),
        "samples_per_cpu_s": round(done / cpu, 1),
        "tokens_per_sample": round(tokens / done, 1),
        "image_tokens_per_sample": round(image_tokens / done, 1),
        "tiles_per_sample": round(tiles / done, 2),
    }


def run_plain(data: Path, processor, samples: int) -> dict:
    """transformers' processor called plainly, one record after another in one process."""
    from ayavision.train.mixture import load_bucket

    records = load_bucket([data])
    done = tiles = 0
    cpu, started = _cpu_seconds(resource.RUSAGE_SELF), time.perf_counter()
    while done < samples:
        item = records[done % len(records)]
        record = item.record
        image = Image.open(item.root / record.images[0])
        messages = [
            {"role": m.role, "content": [{"type": p.type, "text": p.text} for p in m.content]} for m in record.messages
        ]
        text = processor.apply_chat_template(messages, tokenize=False)
        encoded = processor(text=[text], images=[[image]], return_tensors="pt")
        tiles += encoded["pixel_values"].shape[0]
        done += 1
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds(resource.RUSAGE_SELF) - cpu
    return {
        "samples": done,
        "tiles": tiles,
        "seconds": round(elapsed, 2),
        **_rates(done, tiles, elapsed),
        "tiles_per_cpu_s": round(tiles / cpu, 1),
    }


def _rates(samples: int, tiles: int, seconds: float) -> dict:
    return {"samples_per_s": round(samples / seconds, 2), "tiles_per_s": round(tiles / seconds, 1)}


def gpu_demand(tokens_per_sample: float, image_tokens_per_sample: float, tiles_per_sample: float) -> dict:
    """What one H200 at 45% MFU consumes on the 8B shape's SFT stage, in tokens, samples and tiles per second."""
    from transformers import AyaVisionForConditionalGeneration

    from ayavision.model.compose import assemble_config
    from ayavision.model.presets import get_preset
    from ayavision.model.vision import resolve_encoder
    from ayavision.train.metrics import flops_per_token
    from ayavision.train.optim import freeze_for_stage

    spec = get_preset("aya-vision-8b")
    encoder = resolve_encoder(spec.vision, spec.tiling.tile_size, spec.connector.downsample_factor)
    config = assemble_config(spec, encoder.config, None)
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        model = AyaVisionForConditionalGeneration._from_config(config)
    freeze_for_stage(model, ("connector", "language_model"), lora=False)
    flops = flops_per_token(model)
    tokens_per_s = MFU * H200_BF16_TFLOPS * 1e12 / flops
    samples_per_s = tokens_per_s / tokens_per_sample
    # Upper bound: were text free (a 256k-vocabulary tokenizer writes fewer text tokens than the tiny one here),
    # a GPU would get through samples faster, as fast as their image tokens alone allow.
    samples_bound = tokens_per_s / image_tokens_per_sample
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "flops_per_token": flops,
        "tokens_per_s": round(tokens_per_s),
        "samples_per_s": round(samples_per_s, 2),
        "tiles_per_s": round(samples_per_s * tiles_per_sample, 1),
        "samples_per_s_image_tokens_only": round(samples_bound, 2),
        "tiles_per_s_image_tokens_only": round(samples_bound * tiles_per_sample, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=48, help="samples timed per measurement")
    parser.add_argument("--workers", default=None, help="worker counts, e.g. 0,1,2 (default: 0, 1, 2 and all cores)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds; the measurements alternate within a round")
    parser.add_argument("--photos", type=int, default=24, help="distinct photos the records cycle over")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    counts = [int(n) for n in args.workers.split(",")] if args.workers else sorted({0, 1, 2, cores})
    import transformers

    print(
        f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, {cores} cores, "
        f"torch {torch.__version__}, transformers {transformers.__version__}, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    processor = processor_8b()
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="input-pipeline-") as tmp:
        data = make_photos(Path(tmp) / "photos", args.photos)
        for round_ in range(args.repeats):
            runs = [("plain processor", lambda: run_plain(data, processor, args.samples))]
            runs += [
                (f"ayavision, {n} workers", lambda n=n: run_ours(data, processor, n, args.samples)) for n in counts
            ]
            runs += [("ayavision planning only", lambda: run_planning(data, processor, args.samples))]
            for name, run in runs:
                figures = run()
                results.setdefault(name, []).append(figures)
                print(json.dumps({"round": round_ + 1, "pipeline": name, **figures}), flush=True)
    plan = results["ayavision planning only"][-1]
    demand = gpu_demand(plan["tokens_per_sample"], plan["image_tokens_per_sample"], plan["tiles_per_sample"])
    print(json.dumps({"gpu": "H200 at 45% MFU, aya-vision-8b SFT", **demand}), flush=True)
    summary = {}
    for name, runs in results.items():
        if name == "ayavision planning only":
            continue
        tiles, per_cpu = max(r["tiles_per_s"] for r in runs), max(r["tiles_per_cpu_s"] for r in runs)
        summary[name] = {
            "tiles_per_s": tiles,
            "vs_plain_processor": round(tiles / max(r["tiles_per_s"] for r in results["plain processor"]), 2),
            "vs_one_gpu": round(tiles / demand["tiles_per_s"], 2),
            "tiles_per_cpu_s": per_cpu,
            "cpu_s_per_gpu_s": round(demand["tiles_per_s_image_tokens_only"] / per_cpu, 2),
        }
    # Every process of a multi-GPU run plans every sample of the global batch (8 GPUs: 8 times its own share).
    planning = max(r["samples_per_cpu_s"] for r in results["ayavision planning only"])
    summary["planning, per GPU of an 8-GPU node"] = {
        "samples_per_cpu_s": planning,
        "cpu_s_per_gpu_s": round(8 * demand["samples_per_s_image_tokens_only"] / planning, 2),
    }
    print(json.dumps({"summary (best of rounds)": summary}), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
