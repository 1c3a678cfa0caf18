"""Evaluation on the engine's Ray executor: answers and verdicts as the local executor gives them, cache per worker."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ayavision.backends.spec import BackendSpec
from ayavision.cli.main import app
from ayavision.evaluate import JudgeSettings, generate_answers, judge_pairs, load_benchmark, read_answers
from ayavision.jobs import RayExecutorConfig
from ayavision.testing.openai_server import FakeOpenAIServer, first_attempt_faults

from .helpers import aya_bench, prefer_first

RAY = RayExecutorConfig(workers=2, batch_size=2, records_in_flight=2)


@contextmanager
def ray_module_shutdown(ray) -> Iterator[None]:
    try:
        yield
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_generate_and_judge_on_ray_match_local(tmp_path: Path) -> None:
    bench = load_benchmark("aya-vision-bench", aya_bench(tmp_path / "bench", count=4))
    faults = first_attempt_faults(0.3, kinds=("500",), seed=2)

    def answer(body: dict) -> str:  # the judge's chats open with a system prompt
        return prefer_first(body["messages"]) if body["messages"][0]["role"] == "system" else "An answer."

    with FakeOpenAIServer(answer, faults=faults) as server:
        spec = BackendSpec(kind="openai", base_url=server.url, model="fake-model", backoff_base=0.01, backoff_max=0.05)
        local = generate_answers(bench.items, tmp_path / "local.jsonl", backend=spec, progress=False)
        on_ray = generate_answers(bench.items, tmp_path / "ray.jsonl", backend=spec, executor=RAY, progress=False)
        assert local.written == on_ray.written == len(bench.items) == 8
        texts = {i: r["answer"] for i, r in read_answers(tmp_path / "local.jsonl").records.items()}
        assert {i: r["answer"] for i, r in read_answers(tmp_path / "ray.jsonl").records.items()} == texts
        assert len(list((tmp_path / "ray.jsonl.cache").glob("*.jsonl"))) == 2  # one cache shard per worker

        settings = JudgeSettings(bootstrap_samples=200)
        a, b = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
        items = bench.by_id()
        judged = judge_pairs(a, b, spec, tmp_path / "judge-local", items=items, settings=settings, progress=False)
        on_ray_judged = judge_pairs(
            a, b, spec, tmp_path / "judge-ray", items=items, settings=settings, executor=RAY, progress=False
        )
    assert judged["complete"] and on_ray_judged["complete"]
    assert on_ray_judged["languages"] == judged["languages"] and on_ray_judged["scored"] == 8


@pytest.mark.slow
def test_eval_cli_runs_generate_and_judge_on_ray(tmp_path: Path) -> None:
    """`--executor ray --workers 2` on both commands: every item answered and judged, one cache shard per worker."""
    data = aya_bench(tmp_path / "bench", count=2)

    def answer(body: dict) -> str:
        return prefer_first(body["messages"]) if body["messages"][0]["role"] == "system" else "An answer."

    ray = ["--executor", "ray", "--workers", "2", "--no-progress"]
    import ray as ray_module  # one local instance for the three commands: each would otherwise start its own

    ray_module.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    with ray_module_shutdown(ray_module), FakeOpenAIServer(answer) as server:
        for name, executor in (("a", ray), ("b", ["--no-progress"])):  # b on the default, local executor
            generate = ["eval", "generate", "--bench", "aya-vision-bench", "--data", str(data)]
            generate += [
                "--out",
                str(tmp_path / f"{name}.jsonl"),
                "--base-url",
                server.url,
                "--served-model",
                "fake-model",
            ]
            result = CliRunner().invoke(app, [*generate, *executor])
            assert result.exit_code == 0, result.output
        judge = ["eval", "judge", "--a", str(tmp_path / "a.jsonl"), "--b", str(tmp_path / "b.jsonl")]
        judge += ["--out", str(tmp_path / "judged"), "--base-url", server.url, "--model", "fake-model"]
        result = CliRunner().invoke(app, [*judge, "--seed", "1", *ray])
        assert result.exit_code == 0, result.output
    assert len(read_answers(tmp_path / "a.jsonl").records) == 4
    for cache in (tmp_path / "a.jsonl.cache", tmp_path / "judged" / "cache"):  # written by workers, not here
        shards = [shard.name for shard in cache.glob("*.jsonl")]
        assert shards and not any(f"-{os.getpid()}-" in name for name in shards)
    results = json.loads((tmp_path / "judged" / "results.json").read_text())
    assert results["complete"] and results["scored"] == 4


def test_eval_cli_refuses_an_unknown_executor(tmp_path: Path) -> None:
    data = aya_bench(tmp_path / "bench", count=1)
    args = ["eval", "generate", "--bench", "aya-vision-bench", "--data", str(data), "--out", str(tmp_path / "a.jsonl")]
    args += ["--base-url", "http://127.0.0.1:9/v1", "--served-model", "m", "--executor", "dask", "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "unknown executor 'dask'" in result.output
