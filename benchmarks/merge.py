"""Benchmark `ayavision merge` against mergekit on a VLM and a text LLM of more than 1 GB each.

What it does, in one run:
1. makes a text LLM (Cohere2, bfloat16, about 1.1 GB, two shards) and composes an AyaVision VLM from it with
   ayavision's own composition (image tokens and tile tags added to the vocabulary), then moves the VLM's language
   model away from the text LLM, as training would, and saves it (on-disk layout, sharded);
2. prepares what mergekit can read (not timed): it cannot map a text model onto a VLM's language model, so it gets
   the VLM's language model as a plain causal-LM folder, and the text LLM with its vocabulary padded by the VLM's
   added rows so that the shapes agree;
3. times `ayavision merge --alpha A` and `mergekit-yaml` (linear, the same alpha, fp32 arithmetic, bfloat16 out)
   as separate processes on warm page caches, alternating them when repeated, and reports wall time, peak RSS
   (getrusage of each child), their ratios, bytes read and written per second, and the largest absolute difference
   between the two merged language models.

The mergekit baseline lives in its own environment, never in ayavision's. Create it once (the CPU wheel of torch
first, so that pip does not pull the multi-GB CUDA build):

    python3 -m venv /tmp/mergekit-venv
    /tmp/mergekit-venv/bin/pip install torch==2.13.0
    /tmp/mergekit-venv/bin/pip install mergekit

Then, from the repository root:

    .venv/bin/python benchmarks/merge.py --mergekit-venv /tmp/mergekit-venv [--workdir DIR] [--repeats N]

The models are kept in --workdir and reused by later runs (pass --rebuild to make them again). Needs about 7 GB of
disk. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import torch
from safetensors.torch import save_file

from ayavision.model.checkpoint import INDEX_FILE, CheckpointReader, checkpoint_files, iter_tensors, list_tensors

TEXT_CONFIG = {
    "hidden_size": 2048,
    "intermediate_size": 5632,
    "num_hidden_layers": 12,
    "num_attention_heads": 16,
    "num_key_value_heads": 4,
    "vocab_size": 1000,  # the tiny tokenizer's; composition appends the image tokens and tile tags
    "max_position_embeddings": 4096,
    "sliding_window": 512,
    "logit_scale": 1.0,
    "tie_word_embeddings": True,
}
VISION_CONFIG = {
    "hidden_size": 256,
    "intermediate_size": 1024,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "patch_size": 8,
    "image_size": 64,
}
SHARD = 600 * 10**6


@dataclass
class Run:
    tool: str
    seconds: float
    peak_rss: int  # bytes
    bytes_read: int
    bytes_written: int

    @property
    def throughput(self) -> float:
        return (self.bytes_read + self.bytes_written) / self.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mergekit-venv", type=Path, required=True, help="a venv with mergekit installed")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ayavision-merge-bench"))
    parser.add_argument("--alpha", type=float, default=0.4)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each tool; the fastest is reported")
    parser.add_argument("--rebuild", action="store_true", help="make the models again even if they exist")
    args = parser.parse_args()
    mergekit = args.mergekit_venv / "bin" / "mergekit-yaml"
    if not mergekit.exists():
        sys.exit(f"{mergekit} not found: create the mergekit venv as this script's docstring says")

    work = args.workdir
    text, vlm = work / "text", work / "vlm"
    mk_vlm, mk_text = work / "mergekit-in" / "vlm-language-model", work / "mergekit-in" / "text-padded"
    if args.rebuild or not (vlm / "config.json").exists() or not (mk_text / "config.json").exists():
        shutil.rmtree(work, ignore_errors=True)
        build_inputs(text, vlm)
        prepare_mergekit_inputs(vlm, text, mk_vlm, mk_text)
    print(f"text LLM {_gb(_weights_bytes(text))} GB, VLM {_gb(_weights_bytes(vlm))} GB", flush=True)
    config = work / "mergekit.yml"
    config.write_text(mergekit_config(mk_vlm, mk_text, args.alpha), encoding="utf-8")

    ours_out, theirs_out = work / "out-ayavision", work / "out-mergekit"
    ours_cmd = [
        sys.executable, "-m", "ayavision.cli.main", "merge",
        "--vlm", str(vlm), "--text", str(text), "--alpha", str(args.alpha), "--out", str(ours_out),
    ]  # fmt: skip
    theirs_cmd = [str(mergekit), str(config), str(theirs_out), "--quiet", "--no-write-model-card"]
    runs: dict[str, list[Run]] = {"ayavision": [], "mergekit": []}
    load_before = os.getloadavg()[0]
    for _ in range(args.repeats):
        for tool, command, out, inputs in (
            ("ayavision", ours_cmd, ours_out, (vlm, text)),
            ("mergekit", theirs_cmd, theirs_out, (mk_vlm, mk_text)),
        ):
            shutil.rmtree(out, ignore_errors=True)
            for folder in inputs:
                _warm(folder)
            os.sync()  # so that neither tool pays for writing back the other's output
            runs[tool].append(timed(tool, command, out, inputs, work / f"{tool}.log"))
            print(f"  {tool}: {runs[tool][-1].seconds:.1f} s", flush=True)
    ours = min(runs["ayavision"], key=lambda r: r.seconds)
    theirs = min(runs["mergekit"], key=lambda r: r.seconds)
    report(ours, theirs, largest_difference(ours_out, theirs_out), args)
    print(f"(load average, 1 min: {load_before:.1f} before the timed runs, {os.getloadavg()[0]:.1f} after)")


def build_inputs(text: Path, vlm: Path) -> None:
    """A random bfloat16 Cohere2 LLM, and an AyaVision model composed from it whose language model then moved."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from ayavision.model.compose import compose
    from ayavision.model.spec import ConnectorSpec, LLMSpec, ModelSpec, TilingSpec, VisionSpec
    from ayavision.model.store import save_composed
    from ayavision.model.tokens import train_tiny_tokenizer

    started = time.perf_counter()
    text.mkdir(parents=True)
    config = AutoConfig.for_model("cohere2", **TEXT_CONFIG, dtype="bfloat16")
    with torch.device("meta"):
        shapes = {name: p.shape for name, p in AutoModelForCausalLM.from_config(config).state_dict().items()}
    shapes.pop("lm_head.weight", None)  # tied: stored once, as the embeddings
    generator = torch.Generator().manual_seed(0)
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, shape in shapes.items():
        tensor = (torch.randn(shape, generator=generator) * 0.02).to(torch.bfloat16)
        if size + tensor.nbytes > SHARD and shards[-1]:
            shards.append({})
            size = 0
        shards[-1][name] = tensor
        size += tensor.nbytes
    weight_map = {}
    for i, shard in enumerate(shards, 1):
        file = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, text / file, metadata={"format": "pt"})
        weight_map |= dict.fromkeys(shard, file)
    shards.clear()
    (text / INDEX_FILE).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}), encoding="utf-8")
    config.save_pretrained(text)
    tokenizer = train_tiny_tokenizer()
    tokenizer.chat_template = None
    tokenizer.save_pretrained(text)

    spec = ModelSpec(
        name="merge-benchmark",
        dtype="bfloat16",
        vision=VisionSpec(config=VISION_CONFIG),
        llm=LLMSpec(checkpoint=text),
        connector=ConnectorSpec(intermediate_size=2048),
        tiling=TilingSpec(tile_size=64),
    )
    composed = compose(spec)
    with torch.no_grad():
        torch.manual_seed(1)
        for param in composed.model.model.language_model.parameters():
            param.add_((torch.randn(param.shape) * 0.002).to(param.dtype))  # "training" moved it a little
    save_composed(composed, vlm, spec, max_shard_size="600MB")
    print(f"built the inputs in {time.perf_counter() - started:.0f} s", flush=True)


def prepare_mergekit_inputs(vlm: Path, text: Path, mk_vlm: Path, mk_text: Path) -> None:
    """The VLM's language model as a causal LM, and the text LLM padded with the VLM's added vocabulary rows."""
    from transformers import AutoConfig

    vlm_config = AutoConfig.from_pretrained(vlm)
    language_model = {
        "model." + name.removeprefix("language_model.model."): tensor
        for name, tensor in iter_tensors(vlm)
        if name.startswith("language_model.model.")
    }
    _save_causal_lm(mk_vlm, language_model, vlm_config.text_config, text)
    padded = dict(iter_tensors(text))
    embeddings = padded["model.embed_tokens.weight"]
    added = language_model["model.embed_tokens.weight"][embeddings.shape[0] :]
    padded["model.embed_tokens.weight"] = torch.cat([embeddings, added])
    _save_causal_lm(mk_text, padded, vlm_config.text_config, text)


def _save_causal_lm(folder: Path, state: dict[str, torch.Tensor], text_config, tokenizer_from: Path) -> None:
    folder.mkdir(parents=True)
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    text_config.architectures = ["Cohere2ForCausalLM"]
    text_config.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (tokenizer_from / name).exists():
            shutil.copy2(tokenizer_from / name, folder / name)


def mergekit_config(vlm_language_model: Path, text: Path, alpha: float) -> str:
    # mergekit's linear method accumulates in fp32 and casts back to the inputs' dtype, as ayavision does.
    return (
        "merge_method: linear\n"
        "dtype: bfloat16\n"
        "models:\n"
        f"  - model: {vlm_language_model}\n"
        f"    parameters: {{weight: {alpha}}}\n"
        f"  - model: {text}\n"
        f"    parameters: {{weight: {1 - alpha}}}\n"
    )


# Peak RSS is read with wait4 from a small launcher, not from this process: Linux carries a parent's resident set
# into its child's high-water mark across fork and exec, so a child of this (large) process would report its size.
_LAUNCHER = """
import json, os, sys, time
log = sys.argv[1]
actions = [(os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), (os.POSIX_SPAWN_DUP2, 1, 2)]
started = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ, file_actions=actions)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "maxrss_kib": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status)}))
"""


def timed(tool: str, command: list[str], out: Path, inputs: tuple[Path, ...], log: Path) -> Run:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    launched = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(log), *command],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(launched.stdout)
    if result["code"] != 0:
        sys.exit(f"{tool} failed ({result['code']}):\n{log.read_text(errors='replace')[-3000:]}")
    read = sum(_weights_bytes(folder) for folder in inputs)
    return Run(tool, result["seconds"], result["maxrss_kib"] * 1024, read, _weights_bytes(out))


@dataclass
class Difference:
    largest: float
    tensors: int
    elements: int
    differing: int


def largest_difference(ours: Path, theirs: Path) -> Difference:
    """Largest |ours - mergekit| over the language model, read a chunk at a time; every tensor must be there."""
    their_tensors = {t.name: t for t in list_tensors(theirs)}
    largest, compared, elements, differing = 0.0, 0, 0, 0
    step = 4 * 2**20
    with CheckpointReader() as reader:
        for tensor in list_tensors(ours):
            if not tensor.name.startswith("language_model."):
                continue
            name = tensor.name.replace("language_model.model.", "model.", 1).replace("language_model.", "", 1)
            other = their_tensors.pop(name, None)
            if other is None or other.shape != tensor.shape:
                sys.exit(f"mergekit's output lacks {name} or has another shape: the outputs cannot be compared")
            for start in range(0, tensor.numel, step):
                stop = min(tensor.numel, start + step)
                a = reader.read_elements(tensor, start, stop).float()
                b = reader.read_elements(other, start, stop).float()
                largest = max(largest, float((a - b).abs().max()))
                differing += int((a != b).sum())
            compared += 1
            elements += tensor.numel
    if their_tensors:
        sys.exit(f"mergekit wrote tensors ayavision did not: {sorted(their_tensors)[:3]}")
    return Difference(largest, compared, elements, differing)


def report(ours: Run, theirs: Run, difference: Difference, args: argparse.Namespace) -> None:
    faster = theirs.seconds / ours.seconds
    memory = ours.peak_rss / theirs.peak_rss
    rows = [
        ("wall time (s)", f"{ours.seconds:.1f}", f"{theirs.seconds:.1f}", f"{ours.seconds / theirs.seconds:.2f}"),
        ("peak RSS (GB)", _gb(ours.peak_rss), _gb(theirs.peak_rss), f"{memory:.2f}"),
        ("read (GB)", _gb(ours.bytes_read), _gb(theirs.bytes_read), ""),
        ("written (GB)", _gb(ours.bytes_written), _gb(theirs.bytes_written), ""),
        ("(read + written) / wall time (GB/s)", _gb(ours.throughput), _gb(theirs.throughput), ""),
    ]
    print()
    print(f"{date.today()}, {platform.machine()}, {os.cpu_count()} cores, {_memory_gb()} GB memory, no GPU")
    print("| | ayavision merge | mergekit | ayavision / mergekit |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(
        f"\nlargest |ayavision - mergekit| over {difference.tensors} language-model tensors: {difference.largest:g} "
        f"({difference.differing:,} of {difference.elements:,} elements differ)"
    )
    print(f"faster than mergekit: {'yes' if faster > 1 else 'NO'} ({faster:.2f}x)")
    print(f"at most half mergekit's peak memory: {'yes' if memory <= 0.5 else 'NO'} ({memory:.2f} of it)")
    print(f"(alpha {args.alpha}; fastest of {args.repeats} alternating run(s) each; warm page cache)")


def _warm(folder: Path) -> None:
    """Read the weights once so both tools start from the page cache, not the disk."""
    buffer = bytearray(16 * 2**20)
    for file in checkpoint_files(folder):
        with open(file, "rb") as handle:
            while handle.readinto(buffer):
                pass


def _weights_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in checkpoint_files(folder))


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f}"


def _memory_gb() -> int:
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)


if __name__ == "__main__":
    main()
