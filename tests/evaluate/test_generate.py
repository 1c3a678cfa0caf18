"""Answer generation: the tiny local model (batched, left-padded, greedy) and endpoints; caching and resuming."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ayavision.backends.base import BackendError, ChatRequest, ChatResponse
from ayavision.cli.main import app
from ayavision.evaluate import (
    AnswersError,
    GenerationIncomplete,
    GenerationSettings,
    generate_answers,
    load_benchmark,
    read_answers,
)
from ayavision.evaluate.local_model import LocalModel
from ayavision.testing.openai_server import FakeOpenAIServer

from .helpers import ScriptedJudge, aya_bench, write_jsonl

SHORT = GenerationSettings(max_new_tokens=4, batch_size=3)


@pytest.fixture(scope="module")
def local_model(tiny_model_dir: Path) -> LocalModel:
    return LocalModel(tiny_model_dir)


@pytest.fixture
def bench(tmp_path: Path):
    return load_benchmark("aya-vision-bench", aya_bench(tmp_path / "bench", count=3))


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_cli_generate_with_the_tiny_model(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = aya_bench(tmp_path / "bench", count=3)
    out = tmp_path / "answers.jsonl"
    args = [
        "eval",
        "generate",
        "--model",
        str(tiny_model_dir),
        "--bench",
        "aya-vision-bench",
        "--data",
        str(data),
        "--out",
        str(out),
        "--max-new-tokens",
        "4",
        "--batch-size",
        "4",
        "--no-progress",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "6 item(s) from 6 row(s)" in result.output and "answered 6 item(s), 0 already" in result.output
    lines = _lines(out)
    assert sorted(line["id"] for line in lines) == [
        f"{lang}/{i}" for lang in ("eng_Latn", "fra_Latn") for i in range(3)
    ]
    first = lines[0]
    assert first["bench"] == "aya-vision-bench" and first["prompt"].startswith("[")
    assert first["model"]["kind"] == "local" and first["model"]["name"] == tiny_model_dir.name
    assert first["generation"] == {"max_new_tokens": 4, "temperature": 0.0, "top_p": None, "seed": None}
    assert first["finish_reason"] in ("stop", "length") and 0 < first["completion_tokens"] <= 4
    assert Path(first["data"]) == data.resolve()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "answered 0 item(s), 6 already" in again.output
    assert len(_lines(out)) == 6


def test_batched_answers_equal_one_at_a_time(tmp_path: Path, bench, local_model: LocalModel) -> None:
    generate_answers(bench.items, tmp_path / "b.jsonl", model=local_model, settings=SHORT, progress=False)
    single = GenerationSettings(max_new_tokens=4, batch_size=1)
    generate_answers(bench.items, tmp_path / "s.jsonl", model=local_model, settings=single, progress=False)
    batched = {r["id"]: r["answer"] for r in _lines(tmp_path / "b.jsonl")}
    one_by_one = {r["id"]: r["answer"] for r in _lines(tmp_path / "s.jsonl")}
    assert batched == one_by_one  # left padding changes nothing under greedy decoding


def test_resume_answers_only_what_is_missing(tmp_path: Path, bench, local_model: LocalModel) -> None:
    out = tmp_path / "a.jsonl"
    first = generate_answers(bench.items[:2], out, model=local_model, settings=SHORT, progress=False)
    assert (first.written, first.cached) == (2, 0)
    with open(out, "a", encoding="utf-8") as handle:
        handle.write('{"id": "eng_Latn/2", "ans')  # a kill in the middle of a write
    second = generate_answers(bench.items, out, model=local_model, settings=SHORT, progress=False)
    assert (second.written, second.cached, second.repaired_tail) == (4, 2, True)
    assert len(read_answers(out).records) == 6


def test_other_settings_are_refused_not_mixed(tmp_path: Path, bench, local_model: LocalModel) -> None:
    out = tmp_path / "a.jsonl"
    generate_answers(bench.items[:1], out, model=local_model, settings=SHORT, progress=False)
    longer = GenerationSettings(max_new_tokens=8)
    with pytest.raises(AnswersError, match=r"holds answers with generation .* pass --overwrite"):
        generate_answers(bench.items, out, model=local_model, settings=longer, progress=False)


class EchoBackend(ScriptedJudge):
    """Answers with the prompt's first word and the number of images; fails for the listed item prompts."""

    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        super().__init__(lambda messages: "", label="echo")
        self.failing = failing

    async def chat(self, request: ChatRequest) -> ChatResponse:
        parts = request.messages[0]["content"]
        text = parts[-1]["text"]
        if any(marker in text for marker in self.failing):
            raise BackendError("HTTP 400: bad request")
        self.requests.append(request)
        images = sum(part["type"] == "image" for part in parts)
        return ChatResponse(text=f"{text.split()[0]} {images}", finish_reason="stop", completion_tokens=2)


def test_backend_generation_failures_are_counted_and_resumable(tmp_path: Path, bench) -> None:
    out = tmp_path / "a.jsonl"
    with pytest.raises(GenerationIncomplete, match=r"1 of 6 item\(s\) have no answer .*fra_Latn/1: HTTP 400"):
        generate_answers(bench.items, out, backend=EchoBackend(("[fra_Latn] What is in picture 1?",)), progress=False)
    assert len(read_answers(out).records) == 5
    backend = EchoBackend()
    summary = generate_answers(bench.items, out, backend=backend, progress=False)
    assert (summary.written, summary.cached) == (1, 5) and len(backend.requests) == 1
    answers = read_answers(out).records
    assert answers["eng_Latn/0"]["answer"] == "[eng_Latn] 2"  # the two images of the difference task were sent
    assert answers["eng_Latn/1"]["model"] == {"backend": "scripted", "model": "echo"}


def test_cli_generate_from_an_endpoint(tmp_path: Path) -> None:
    rows = [{"question_id": f"q{i}", "category": "c", "cluster": "k", "prompt": f"Вопрос {i}"} for i in range(3)]
    data = write_jsonl(tmp_path / "ru" / "test.jsonl", rows)
    out = tmp_path / "answers.jsonl"
    with FakeOpenAIServer(lambda body: "Ответ.") as server:
        args = [
            "eval",
            "generate",
            "--bench",
            "m-arenahard",
            "--data",
            str(tmp_path),
            "--out",
            str(out),
            "--base-url",
            server.url,
            "--served-model",
            "fake-model",
            "--no-progress",
        ]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert server.bodies[0]["max_tokens"] == 1024 and server.bodies[0]["temperature"] == 0.0
    answers = read_answers(out)
    assert {r["answer"] for r in answers.records.values()} == {"Ответ."}
    assert answers.model == {"backend": "openai", "model": "fake-model"} and answers.bench == "m-arenahard"
    assert data.exists()


def test_cli_generate_refuses_bad_input(tmp_path: Path, tiny_model_dir: Path) -> None:
    runner = CliRunner()
    data = aya_bench(tmp_path / "bench", count=1)
    base = ["eval", "generate", "--data", str(data), "--out", str(tmp_path / "o.jsonl"), "--model", str(tiny_model_dir)]
    unknown = runner.invoke(app, [*base, "--bench", "no-such-bench"])
    assert unknown.exit_code == 2 and "unknown benchmark 'no-such-bench'" in unknown.output
    language = runner.invoke(app, [*base, "--bench", "aya-vision-bench", "--language", "klingon"])
    assert language.exit_code == 2 and "unknown language code 'klingon'" in language.output
    both = runner.invoke(app, [*base, "--bench", "aya-vision-bench", "--base-url", "http://x/v1"])
    assert both.exit_code == 2 and "exactly one of --model DIR or --base-url URL" in both.output


def test_changed_benchmark_prompts_are_not_answered_from_the_cache(tmp_path: Path, bench) -> None:
    out = tmp_path / "a.jsonl"
    generate_answers(bench.items, out, backend=EchoBackend(), progress=False)
    edited = [
        replace(item, prompt=item.prompt + " Be brief.") if item.id == "fra_Latn/2" else item for item in bench.items
    ]
    with pytest.raises(AnswersError, match=r"answers to other prompts for 1 item\(s\) \(e.g. fra_Latn/2\)"):
        generate_answers(edited, out, backend=EchoBackend(), progress=False)
