"""Judging over HTTP: the openai backend against the local fake OpenAI-compatible server, faults included."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ayavision.backends import create_backend
from ayavision.backends.base import BackendError
from ayavision.cli.main import app
from ayavision.evaluate import JudgeSettings, judge_pairs, load_benchmark
from ayavision.testing.openai_server import FakeOpenAIServer, first_attempt_faults

from .helpers import answers_file, aya_bench, prefer_correct, prefer_first

FAST = JudgeSettings(bootstrap_samples=200, concurrency=8)
QUICK_RETRIES = {"backoff_base": 0.01, "backoff_max": 0.05, "timeout": 5.0}


def _verdict_from_body(decide):
    return lambda body: decide(body["messages"])


@pytest.fixture
def bench(tmp_path: Path):
    return load_benchmark("aya-vision-bench", aya_bench(tmp_path / "bench", count=5))


def _pair(tmp_path: Path, bench, right_a: set[str], right_b: set[str]) -> tuple[Path, Path]:
    def answers(name: str, right: set[str]) -> Path:
        texts = {item.id: item.reference if item.id in right else f"wrong {name}" for item in bench.items}
        return answers_file(tmp_path / f"{name}.jsonl", texts, model=name, data=str(bench.path))

    return answers("a", right_a), answers("b", right_b)


def _backend(server: FakeOpenAIServer, **options):
    return create_backend("openai", base_url=server.url, model=server.models[0], **QUICK_RETRIES, **options)


def test_position_biased_judge_over_http(tmp_path: Path, bench) -> None:
    a, b = _pair(tmp_path, bench, set(), set())
    with FakeOpenAIServer(_verdict_from_body(prefer_first)) as server:
        results = judge_pairs(
            a, b, _backend(server), tmp_path / "out", items=bench.by_id(), settings=FAST, progress=False
        )
        assert server.answered == 20
        image_parts = [p for p in server.bodies[0]["messages"][1]["content"] if p["type"] == "image_url"]
        assert image_parts and image_parts[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert results["macro"]["win_rate"] == 0.5
    assert results["position_consistency"] == pytest.approx(0.0, abs=0.05)


def test_correct_preferring_judge_over_http_with_faults(tmp_path: Path, bench) -> None:
    ids = sorted(item.id for item in bench.items)
    a, b = _pair(tmp_path, bench, set(ids[:6]), set(ids[4:6]))  # a alone right on 4, both on 2, none on 4
    faults = first_attempt_faults(0.4, kinds=("429", "500", "malformed", "empty"), seed=3)
    with FakeOpenAIServer(_verdict_from_body(prefer_correct), faults=faults) as server:
        results = judge_pairs(
            a, b, _backend(server), tmp_path / "out", items=bench.by_id(), settings=FAST, progress=False
        )
        assert sum(server.faults_sent.values()) > 0  # the faults really happened, and were retried
    assert results["complete"]
    assert results["overall"]["win_rate"] == pytest.approx((4 + 0.5 * 6) / 10)
    assert results["position_consistency"] == 1.0


def test_garbage_verdicts_over_http_are_missing(tmp_path: Path, bench) -> None:
    a, b = _pair(tmp_path, bench, set(), set())
    with FakeOpenAIServer(lambda body: "Both answers have merit; I will not choose.") as server:
        results = judge_pairs(
            a, b, _backend(server), tmp_path / "out", items=bench.by_id(), settings=FAST, progress=False
        )
        assert server.answered == 40  # every game asked twice
    assert results["missing"] == 10 and results["scored"] == 0
    assert results["macro"]["win_rate"] is None  # not 50%: nothing readable is not a tie


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_judge_is_a_clear_error(tmp_path: Path, bench) -> None:
    a, b = _pair(tmp_path, bench, set(), set())
    backend = create_backend("openai", base_url=f"http://127.0.0.1:{_free_port()}/v1", model="judge", **QUICK_RETRIES)
    with pytest.raises(BackendError, match="cannot reach"):
        judge_pairs(a, b, backend, tmp_path / "out", items=bench.by_id(), settings=FAST, progress=False)


def test_cli_judge_end_to_end(tmp_path: Path, bench) -> None:
    a, b = _pair(tmp_path, bench, set(), set())
    runner = CliRunner(env={"COLUMNS": "200"})
    with FakeOpenAIServer(_verdict_from_body(prefer_first)) as server:
        args = [
            "eval",
            "judge",
            "--a",
            str(a),
            "--b",
            str(b),
            "--base-url",
            server.url,
            "--model",
            "fake-model",
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
            "--settings",
            str(_settings(tmp_path)),
        ]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "macro (2 languages)" in result.output and "50.0" in result.output
        unknown = runner.invoke(app, [*args[:-2], "--settings", str(_settings(tmp_path, typo=True))])
        assert unknown.exit_code == 2 and "bootstrap_sample: Extra inputs are not permitted" in unknown.output
        wrong_model = runner.invoke(app, [*args[:9], "no-such-model", *args[10:]])
        assert wrong_model.exit_code == 2 and "model 'no-such-model' is not served" in wrong_model.output
    dead_url = f"http://127.0.0.1:{_free_port()}/v1"
    cached = runner.invoke(app, [*args[:7], dead_url, *args[8:]])
    assert cached.exit_code == 0  # every game is cached: the judge is not needed again
    dead = runner.invoke(app, [*args[:7], dead_url, *args[8:11], str(tmp_path / "fresh"), *args[12:]])
    assert dead.exit_code == 2 and "cannot reach http://127.0.0.1" in dead.output
    saved = json.loads((tmp_path / "out/results.json").read_text())
    assert saved["judge"] == {"backend": "openai", "model": "fake-model"}  # data found via the answers' record


def _settings(tmp_path: Path, typo: bool = False) -> Path:
    path = tmp_path / ("typo.yaml" if typo else "judge.yaml")
    path.write_text("bootstrap_sample: 200\n" if typo else "bootstrap_samples: 200\nconcurrency: 4\n")
    return path
