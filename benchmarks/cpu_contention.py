"""Training step times on a CPU shared with another process: OpenMP's default wait policy against PASSIVE.

The same `ayavision train` run (the tiny preset, align stage, 8 packed rows of 1024 tokens per step, shapes-world
data) is timed on a quiet machine and beside one competing process, once with OpenMP's own default wait policy
(threads spin between parallel regions) and once with the ayavision CLI's default, OMP_WAIT_POLICY=PASSIVE.
Competitors: a single-threaded busy loop, and a two-thread torch process (matmuls), both CPU-bound. Runs are
interleaved, so drift of a shared machine touches both policies alike. Prints, per policy and competitor, the median,
p95 and max step time (data + compute + update, first two steps left out) and the slowdown against the same policy's
quiet median; with two cores and one competitor taking its share, a proportional slowdown is about 1.5-2x.

    .venv/bin/python benchmarks/cpu_contention.py [--steps 30] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
# An empty value is not a policy OpenMP knows, so the runtime keeps its own default; it also stops the ayavision CLI
# from setting PASSIVE, which it does only when the variable is absent.
POLICIES = {"OpenMP default (spin)": "", "PASSIVE (ayavision default)": "PASSIVE"}
COMPETITORS = {
    "none": None,
    "1 busy loop": [sys.executable, "-c", "while True: pass"],
    "2-thread torch": [
        sys.executable,
        "-c",
        "import torch\ntorch.set_num_threads(2)\na = torch.randn(512, 512)\nwhile True:\n    a = (a @ a).tanh()",
    ],
}


def prepare(folder: Path, steps: int) -> tuple[Path, Path]:
    from ayavision.model.compose import compose
    from ayavision.model.presets import get_preset
    from ayavision.model.store import save_composed
    from ayavision.world.dataset import make_world_dataset

    make_world_dataset(folder / "data", n=400, seed=0, tasks=["caption", "vqa", "counting"], languages="all")
    spec = get_preset("tiny")
    save_composed(compose(spec), folder / "model", spec, overwrite=True)
    stage = {
        "mixture": {"world": 1.0},
        "lr": {"connector": 1e-3},
        "max_steps": steps,
        "warmup_steps": 2,
        "global_batch": 8,
        "micro_batch": 8,
        "seq_len": 1024,
        "save_every": 10_000,
    }
    recipe = {"train": {"buckets": {"world": {"paths": [str(folder / "data")]}}, "stages": {"align": stage}}}
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path, folder / "model"


def step_times(recipe: Path, model: Path, out: Path, policy: str, competitor: list[str] | None) -> list[float]:
    env = {**os.environ, "OMP_WAIT_POLICY": policy}
    rival = subprocess.Popen(competitor) if competitor else None
    try:
        command = [sys.executable, "-m", "ayavision.cli.main", "train", "--config", str(recipe), "--stage", "align"]
        command += ["--out", str(out), "--init", str(model), "--quiet"]
        subprocess.run(command, env=env, check=True, capture_output=True)
    finally:
        if rival is not None:
            rival.kill()
            rival.wait()
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [sum(row["seconds"].values()) for row in rows][2:]


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median": statistics.median(ordered),
        "p95": ordered[round(0.95 * (len(ordered) - 1))],
        "max": ordered[-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2, help="runs per policy and competitor, interleaved")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        recipe, model = prepare(Path(tmp), args.steps)
        times: dict[tuple[str, str], list[float]] = {}
        run = 0
        for _ in range(args.repeats):
            for competitor, command in COMPETITORS.items():
                for policy, value in POLICIES.items():
                    run += 1
                    got = step_times(recipe, model, Path(tmp) / f"run-{run}", value, command)
                    times.setdefault((policy, competitor), []).extend(got)
    print(f"{args.repeats} run(s) of {args.steps} steps each per row; seconds per step")
    print(f"{'policy':28s} {'competitor':16s} {'median':>7s} {'p95':>7s} {'max':>7s} {'slowdown':>9s} {'p95/med':>8s}")
    for policy in POLICIES:
        quiet = summary(times[(policy, "none")])["median"]
        for competitor in COMPETITORS:
            s = summary(times[(policy, competitor)])
            slowdown = s["median"] / quiet
            print(
                f"{policy:28s} {competitor:16s} {s['median']:7.3f} {s['p95']:7.3f} {s['max']:7.3f} "
                f"{slowdown:8.2f}x {s['p95'] / s['median']:7.2f}x"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
