"""Evaluation on the engine's Ray executor: answers and verdicts as the local executor gives them, cache per worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from ayavision.backends.spec import BackendSpec
from ayavision.evaluate import JudgeSettings, generate_answers, judge_pairs, load_benchmark, read_answers
from ayavision.jobs import RayExecutorConfig
from ayavision.testing.openai_server import FakeOpenAIServer, first_attempt_faults

from .helpers import aya_bench, prefer_first

RAY = RayExecutorConfig(workers=2, batch_size=2, records_in_flight=2)


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
