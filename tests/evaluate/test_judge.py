"""Pairwise judging against an in-process scripted judge: protocol, counting, caching and failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ayavision.backends.base import BackendError, ChatRequest, ChatResponse
from ayavision.evaluate import AnswersError, JudgeIncomplete, JudgeSettings, judge_pairs, load_benchmark

from .helpers import ScriptedJudge, answers_file, aya_bench, prefer_correct, prefer_first, slots

FAST = JudgeSettings(bootstrap_samples=200, concurrency=4)


@pytest.fixture
def bench(tmp_path: Path):
    return load_benchmark("aya-vision-bench", aya_bench(tmp_path / "bench", count=6))


def _answers(tmp_path: Path, name: str, bench, correct: set[str]) -> Path:
    """An answers file that gives the reference answer on the ``correct`` items and a wrong one elsewhere."""
    answers = {item.id: item.reference if item.id in correct else f"wrong {name}" for item in bench.items}
    return answers_file(tmp_path / f"{name}.jsonl", answers, model=name)


def test_position_biased_judge_gives_half_and_zero_consistency(tmp_path: Path, bench) -> None:
    a = _answers(tmp_path, "a", bench, set())
    b = _answers(tmp_path, "b", bench, set())
    results = judge_pairs(
        a, b, ScriptedJudge(prefer_first), tmp_path / "out", items=bench.by_id(), settings=FAST, progress=False
    )
    assert results["macro"]["win_rate"] == 0.5
    assert results["position_consistency"] == 0.0
    assert results["first_slot_win_share"] == 1.0
    assert results["complete"] and results["scored"] == 12


def test_judge_preferring_the_correct_answer_gives_the_known_rate(tmp_path: Path, bench) -> None:
    ids = sorted(item.id for item in bench.items)
    a = _answers(tmp_path, "a", bench, set(ids[:9]))  # right on 9 of 12
    b = _answers(tmp_path, "b", bench, set(ids[6:8]))  # right on 2 of 12, both also right for a
    judge = ScriptedJudge(prefer_correct)
    results = judge_pairs(a, b, judge, tmp_path / "out", items=bench.by_id(), settings=FAST, progress=False)
    # 7 pairs only a right (win), 2 both right + 3 both wrong (tie): (7 + 0.5 * 5) / 12
    assert results["overall"]["win_rate"] == pytest.approx(9.5 / 12)
    assert results["position_consistency"] == 1.0
    by_lang = results["languages"]
    assert by_lang["eng_Latn"]["win_rate"] == pytest.approx(1.0)  # eng ids sort first: a right on all 6, b on none
    assert by_lang["fra_Latn"]["win_rate"] == pytest.approx((1 + 0.5 * 5) / 6)
    assert results["macro"]["win_rate"] == pytest.approx((1.0 + 3.5 / 6) / 2)


def test_images_and_reference_reach_the_judge(tmp_path: Path, bench) -> None:
    a = _answers(tmp_path, "a", bench, set())
    b = _answers(tmp_path, "b", bench, set())
    judge = ScriptedJudge(prefer_first)
    judge_pairs(a, b, judge, tmp_path / "out", items=bench.by_id(), settings=FAST, progress=False)
    request = next(r for r in judge.requests if "picture 0?" in json.dumps(r.messages[1]["content"][-1]))
    parts = request.messages[1]["content"]
    assert [p["type"] for p in parts] == ["image", "image", "text"]  # the difference task's two images
    assert slots(request.messages)[2] == "reference 0"
    assert request.messages[0]["role"] == "system" and "[[A>>B]]" in request.messages[0]["content"]


def test_both_orders_are_judged(tmp_path: Path, bench) -> None:
    a = answers_file(tmp_path / "a.jsonl", {item.id: "from a" for item in bench.items}, model="a")
    b = answers_file(tmp_path / "b.jsonl", {item.id: "from b" for item in bench.items}, model="b")
    judge = ScriptedJudge(prefer_first)
    judge_pairs(a, b, judge, tmp_path / "out", items=bench.by_id(), settings=FAST, progress=False)
    orders = [slots(r.messages)[:2] for r in judge.requests]
    assert orders.count(("from a", "from b")) == 12 and orders.count(("from b", "from a")) == 12


def test_garbage_verdicts_are_reasked_once_then_missing(tmp_path: Path, bench) -> None:
    def decide(messages) -> str:
        if "[eng_Latn] What is in picture 0?" in messages[1]["content"][-1]["text"]:
            return "I cannot decide, both are [[fine]]."
        return "[[A=B]]"

    judge = ScriptedJudge(decide)
    a = _answers(tmp_path, "a", bench, set())
    b = _answers(tmp_path, "b", bench, set())
    results = judge_pairs(a, b, judge, tmp_path / "out", items=bench.by_id(), settings=FAST, progress=False)
    assert results["missing"] == 1 and results["scored"] == 11  # the pair left the score; not a tie
    assert results["languages"]["eng_Latn"]["missing"] == 1
    retries = [r for r in judge.requests if r.messages[-1]["role"] == "user" and len(r.messages) == 4]
    assert len(retries) == 2  # both games of that pair asked again, once each
    records = [json.loads(line) for line in (tmp_path / "out/judgments.jsonl").read_text().splitlines()]
    garbage = [r for r in records if r["verdict"] is None]
    assert len(garbage) == 2 and all(len(r["replies"]) == 2 for r in garbage)


def test_reask_recovers_a_verdict(tmp_path: Path, bench) -> None:
    def decide(messages) -> str:
        return "[[B>A]]" if messages[-1]["role"] == "user" and len(messages) == 4 else "no label here"

    judge = ScriptedJudge(decide)
    a = _answers(tmp_path, "a", bench, set())
    b = _answers(tmp_path, "b", bench, set())
    results = judge_pairs(a, b, judge, tmp_path / "out", items=bench.by_id(), settings=FAST, progress=False)
    assert results["missing"] == 0 and results["overall"]["win_rate"] == 0.5 and len(judge.requests) == 48


def test_cached_judgments_are_not_asked_again(tmp_path: Path, bench) -> None:
    a = _answers(tmp_path, "a", bench, set())
    b = _answers(tmp_path, "b", bench, set())
    first = judge_pairs(
        a, b, ScriptedJudge(prefer_first), tmp_path / "out", items=bench.by_id(), settings=FAST, progress=False
    )
    again = ScriptedJudge(prefer_first)
    second = judge_pairs(a, b, again, tmp_path / "out", items=bench.by_id(), settings=FAST, progress=False)
    assert again.requests == [] and second["languages"] == first["languages"]
    other_judge = ScriptedJudge(prefer_first, label="another-judge")
    judge_pairs(a, b, other_judge, tmp_path / "out", items=bench.by_id(), settings=FAST, progress=False)
    assert len(other_judge.requests) == 24  # a different judge is a different cache key


class FlakyJudge(ScriptedJudge):
    """Fails every request for the listed prompts (as the openai backend does after its retries)."""

    def __init__(self, failing: set[str], fatal: bool = False) -> None:
        super().__init__(prefer_first)
        self.failing, self.fatal = failing, fatal

    async def chat(self, request: ChatRequest) -> ChatResponse:
        text = request.messages[1]["content"][-1]["text"]
        if self.fatal or any(marker in text for marker in self.failing):
            raise BackendError("HTTP 500: internal error", retryable=True, fatal=self.fatal)
        return await super().chat(request)


def test_failed_games_keep_partial_results_and_resume(tmp_path: Path, bench) -> None:
    a = _answers(tmp_path, "a", bench, set())
    b = _answers(tmp_path, "b", bench, set())
    out = tmp_path / "out"
    with pytest.raises(JudgeIncomplete, match=r"2 of 24 game\(s\) not judged.*1 pair\(s\) left out.*run again"):
        judge_pairs(
            a,
            b,
            FlakyJudge({"[fra_Latn] What is in picture 2?"}),
            out,
            items=bench.by_id(),
            settings=FAST,
            progress=False,
        )
    partial = json.loads((out / "results.json").read_text())
    assert not partial["complete"] and partial["unjudged"] == 1 and partial["scored"] == 11
    assert partial["languages"]["fra_Latn"]["unjudged"] == 1
    resumed = ScriptedJudge(prefer_first)
    results = judge_pairs(a, b, resumed, out, items=bench.by_id(), settings=FAST, progress=False)
    assert len(resumed.requests) == 2 and results["complete"] and results["scored"] == 12


def test_a_dead_endpoint_stops_early(tmp_path: Path, bench) -> None:
    a = _answers(tmp_path, "a", bench, set())
    b = _answers(tmp_path, "b", bench, set())
    judge = FlakyJudge(set(), fatal=True)
    settings = JudgeSettings(bootstrap_samples=200, concurrency=1)
    with pytest.raises(JudgeIncomplete, match="24 of 24 game"):
        judge_pairs(a, b, judge, tmp_path / "out", items=bench.by_id(), settings=settings, progress=False)


def test_answers_must_cover_the_same_items(tmp_path: Path, bench) -> None:
    ids = sorted(item.id for item in bench.items)
    a = answers_file(tmp_path / "a.jsonl", {i: "x" for i in ids}, model="a")
    b = answers_file(tmp_path / "b.jsonl", {i: "x" for i in ids[2:]}, model="b")
    with pytest.raises(AnswersError, match=r"b\.jsonl lacks 2 item\(s\) that .*a\.jsonl has: eng_Latn/0, eng_Latn/1"):
        judge_pairs(a, b, ScriptedJudge(prefer_first), tmp_path / "out", items=bench.by_id(), progress=False)


def test_image_benchmarks_need_their_data(tmp_path: Path, bench) -> None:
    a = _answers(tmp_path, "a", bench, set())
    b = _answers(tmp_path, "b", bench, set())
    with pytest.raises(ValueError, match="have images the judge must see"):
        judge_pairs(a, b, ScriptedJudge(prefer_first), tmp_path / "out", progress=False)


def test_text_only_benchmark_needs_no_data(tmp_path: Path) -> None:
    ids = {f"fra_Latn/q{i}": "réponse" for i in range(3)}
    a = answers_file(tmp_path / "a.jsonl", ids, bench="m-arenahard", model="a")
    b = answers_file(tmp_path / "b.jsonl", ids, bench="m-arenahard", model="b")
    results = judge_pairs(a, b, ScriptedJudge(lambda m: "[[A=B]]"), tmp_path / "out", settings=FAST, progress=False)
    assert results["bench"] == "m-arenahard" and results["overall"]["win_rate"] == 0.5
    assert results["name"] == "a vs b"
