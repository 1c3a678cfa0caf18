"""Throughput of the annotation pipeline against a server of fixed latency, and distilabel's on the same server.

A local OpenAI-compatible test server (ayavision.testing.openai_server, its own process, loopback only) answers
every request after exactly LATENCY seconds, so with CONCURRENCY requests in flight no client can exceed
CONCURRENCY / LATENCY requests per second: the bound. This script runs, in one go and in this order:

1. ayavision: `run_step` of the recaption step over REQUESTS text records (one request each) with the
   `openai` backend at --concurrency, cache and ledger on (as in production), no progress bar;
2. distilabel: a LoadDataFromDicts -> TextGeneration(OpenAILLM) pipeline over the same number of prompts,
   with input_batch_size = --concurrency (distilabel has no concurrency cap: a batch is sent at once),
   in distilabel's own environment (benchmarks/_distilabel_baseline.py).

Each rate is requests answered over the whole run's wall time (start-up and writing included), printed
with its ratio to the bound. Create the distilabel environment once (it needs no torch):

    python3 -m venv /tmp/distilabel-venv && /tmp/distilabel-venv/bin/pip install "distilabel[openai]==1.5.3" requests

Then, from the repository root:

    .venv/bin/python benchmarks/annotate_throughput.py [--setting 32:0.25 --setting 128:0.5] [--seconds 12.5]
        [--distilabel-python /tmp/distilabel-venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ayavision
from ayavision.annotate import BackendSpec, RecaptionConfig, RunOptions, run_step

ROOT = Path(__file__).resolve().parents[1]


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "ayavision.testing.openai_server", "--latency", str(latency)]
    # The server process imports the same ayavision as this one, wherever that comes from.
    source = str(Path(ayavision.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("PORT "):
        server.kill()
        raise RuntimeError(f"the test server did not start: {line!r}")
    return server, f"http://127.0.0.1:{int(line.split()[1])}/v1"


def write_records(path: Path, count: int) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(count):
            record = {
                "id": f"bench/{i:06d}",
                "messages": [
                    {"role": "user", "content": f"Describe item {i} in detail."},
                    {"role": "assistant", "content": f"Item {i}."},
                ],
                "language": "eng_Latn",
                "task": "vqa",
                "source": "bench",
                "bucket": "original",
            }
            handle.write(json.dumps(record) + "\n")
    return path


def run_ayavision(url: str, requests: int, concurrency: int, max_tokens: int, workdir: Path) -> dict:
    data = write_records(workdir / "records.jsonl", requests)
    spec = BackendSpec(kind="openai", base_url=url, model="fake-model", concurrency=concurrency)
    start = time.perf_counter()
    result = run_step(
        RecaptionConfig(max_tokens=max_tokens), data, workdir / "recaption", spec, options=RunOptions(progress=False)
    )
    elapsed = time.perf_counter() - start
    summary = result.summary
    assert summary["kept"] == requests and summary["requests"] == requests, summary
    return {"elapsed": elapsed, "answered": summary["requests"]}


def run_distilabel(python: str, url: str, requests: int, concurrency: int, max_tokens: int) -> dict:
    script = ROOT / "benchmarks" / "_distilabel_baseline.py"
    env = {**os.environ, "DISTILABEL_LOG_LEVEL": "WARNING"}  # per-request log lines would slow it unfairly
    command = [python, str(script), url, "fake-model", str(requests), str(concurrency), str(max_tokens)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(), check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"distilabel failed (exit {done.returncode}): {done.stderr[-1500:]}")
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--setting",
        action="append",
        help="CONCURRENCY:LATENCY, repeatable (default: 32:0.25 and 128:0.5)",
    )
    parser.add_argument("--seconds", type=float, default=12.5, help="requests per run = bound x this")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--distilabel-python", default="/tmp/distilabel-venv/bin/python")
    args = parser.parse_args()
    settings = [tuple(map(float, s.split(":"))) for s in (args.setting or ["32:0.25", "128:0.5"])]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    has_distilabel = Path(args.distilabel_python).exists()
    if not has_distilabel:
        print(f"(distilabel skipped: {args.distilabel_python} not found)")
    table = []
    for concurrency, latency in settings:
        concurrency = int(concurrency)
        bound = concurrency / latency
        requests = int(bound * args.seconds)
        print(f"\nlatency {latency} s, concurrency {concurrency}: bound {bound:.1f} requests/s; {requests} requests")
        server, url = start_server(latency)
        try:
            with tempfile.TemporaryDirectory(prefix="annotate-bench-") as tmp:
                ours = run_ayavision(url, requests, concurrency, args.max_tokens, Path(tmp))
            table.append((concurrency, latency, bound, "ayavision (recaption step)", ours))
            if has_distilabel:
                theirs = run_distilabel(args.distilabel_python, url, requests, concurrency, args.max_tokens)
                table.append((concurrency, latency, bound, "distilabel 1.5.3 (TextGeneration)", theirs))
        finally:
            server.terminate()
            server.wait(10)
    header = f"{'C':>4} {'latency':>7} {'bound':>6}  {'pipeline':34} {'answered':>8} {'seconds':>7} {'req/s':>6}"
    print(f"\n{header} {'of bound':>8}")
    for concurrency, latency, bound, name, run in table:
        rate = run["answered"] / run["elapsed"]
        print(
            f"{concurrency:>4} {latency:>7} {bound:>6.0f}  {name:34} {run['answered']:>8} {run['elapsed']:>7.2f}"
            f" {rate:>6.1f} {rate / bound:>8.3f}"
        )


if __name__ == "__main__":
    main()
