"""Academic metrics on hand-made items in several scripts, and the scoring of a whole answers file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ayavision.evaluate import (
    AnswersError,
    BenchItem,
    ScoreSettings,
    contains_answer,
    exact_match,
    read_answers,
    score_academic,
    score_item,
)

from .helpers import answers_file


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("٣", ["3"], True),  # Arabic-Indic digit against an ASCII gold answer
        ("३ ", ["3"], True),  # Devanagari digit
        ("北京。", ["北京"], True),  # Chinese with a full stop
        ("Москва", ["москва"], True),  # Cyrillic case
        ("Yes.", ["yes", "yeah"], True),
        ("3 apples", ["3"], False),  # exact, not contained
        ("नहीं", ["हाँ"], False),
    ],
)
def test_exact_match(prediction: str, answers: list[str], expected: bool) -> None:
    assert exact_match(prediction, answers) is expected


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("السعر هو ٢٥ ريال", ["25"], True),  # Arabic sentence with Arabic-Indic digits
        ("यह दिल्ली है।", ["दिल्ली"], True),  # Devanagari
        ("这是上海的照片", ["上海"], True),  # Chinese: no word boundaries needed
        ("Это МОСКВА.", ["Москва"], True),  # Cyrillic
        ("Это Киев.", ["Москва"], False),
        ("anything", ["..."], False),  # a gold answer that normalises to nothing matches nothing
    ],
)
def test_contains_answer(prediction: str, answers: list[str], expected: bool) -> None:
    assert contains_answer(prediction, answers) is expected


def _mc(item_id: str, language: str, answer_index: int) -> BenchItem:
    options = ("кошка", "собака", "птица", "рыба")
    return BenchItem(
        id=item_id,
        bench="cvqa",
        language=language,
        prompt="?",
        question="?",
        metric="choice",
        choices=options,
        answer_index=answer_index,
    )


def test_multiple_choice_scoring_and_unparsed_policy() -> None:
    item = _mc("rus_Cyrl/1", "rus_Cyrl", 1)
    assert score_item(item, "Ответ: В").correct  # Cyrillic В for B
    assert score_item(item, "собака").correct  # the option's text
    wrong = score_item(item, "не знаю")
    assert (wrong.correct, wrong.how) == (False, "unparsed")
    first = score_item(item, "не знаю", ScoreSettings(unparsed="random", seed=7))
    again = score_item(item, "не знаю", ScoreSettings(unparsed="random", seed=7))
    assert first.how == "random" and first.choice == again.choice  # seeded: the same draw every time


def test_random_fallback_is_seeded_per_item_and_spread() -> None:
    settings = ScoreSettings(unparsed="random", seed=3)
    picks = [score_item(_mc(f"x/{i}", "rus_Cyrl", 0), "?", settings).choice for i in range(200)]
    assert set(picks) == {0, 1, 2, 3}  # a real draw, not a constant
    assert picks == [score_item(_mc(f"x/{i}", "rus_Cyrl", 0), "?", settings).choice for i in reversed(range(200))][::-1]


def test_score_academic_counts_per_language(tmp_path: Path) -> None:
    items = [_mc("rus_Cyrl/1", "rus_Cyrl", 1), _mc("rus_Cyrl/2", "rus_Cyrl", 2), _mc("hin_Deva/1", "hin_Deva", 0)]
    answers = read_answers(
        answers_file(
            tmp_path / "a.jsonl", {"rus_Cyrl/1": "B", "rus_Cyrl/2": "??", "hin_Deva/1": "उत्तर: A"}, bench="cvqa"
        )
    )
    result = score_academic(items, answers, tmp_path / "out")
    assert result["languages"]["rus_Cyrl"] == {"n": 2, "correct": 1, "accuracy": 0.5, "unparsed": 1, "randomised": 0}
    assert result["languages"]["hin_Deva"]["accuracy"] == 1.0
    assert result["macro"]["accuracy"] == pytest.approx(0.75)
    assert result["overall"]["accuracy"] == pytest.approx(2 / 3)
    saved = json.loads((tmp_path / "out/scores.json").read_text())
    assert saved["kind"] == "academic" and saved["overall"]["unparsed"] == 1
    lines = (tmp_path / "out/scored.jsonl").read_text().splitlines()
    assert [json.loads(line)["how"] for line in lines] == ["leading-label", "unparsed", "marked-label"]


def test_missing_answers_are_named(tmp_path: Path) -> None:
    items = [_mc("rus_Cyrl/1", "rus_Cyrl", 1), _mc("rus_Cyrl/2", "rus_Cyrl", 2)]
    answers = read_answers(answers_file(tmp_path / "a.jsonl", {"rus_Cyrl/1": "B"}, bench="cvqa"))
    with pytest.raises(AnswersError, match=r"lacks answers for 1 item\(s\): rus_Cyrl/2"):
        score_academic(items, answers)


def test_exact_and_contains_items() -> None:
    maxm = BenchItem(
        id="zho_Hans/q", bench="maxm", language="zho_Hans", prompt="?", question="?", metric="exact", answers=("红色",)
    )
    assert score_item(maxm, "红色。").correct and not score_item(maxm, "是红色").correct
    mtvqa = BenchItem(
        id="arb_Arab/q",
        bench="mtvqa",
        language="arb_Arab",
        prompt="?",
        question="?",
        metric="contains",
        answers=("١٠",),
    )
    assert score_item(mtvqa, "الرقم هو 10.").correct


def test_cli_score_on_a_small_maxm_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ayavision.cli.main import app

    from .helpers import png, write_jsonl

    (tmp_path / "img.png").write_bytes(png())
    rows = [
        {"question_id": "1", "question": "कितने?", "answers": ["३"], "language": "hi", "image": "img.png"},
        {"question_id": "2", "question": "颜色?", "answers": ["红色"], "language": "zh", "image": "img.png"},
        {"question_id": "3", "question": "สี?", "answers": ["แดง"], "language": "th", "image": "img.png"},
    ]
    data = write_jsonl(tmp_path / "maxm.jsonl", rows)
    answers = answers_file(
        tmp_path / "a.jsonl", {"hin_Deva/1": "3", "zho_Hans/2": "蓝色"}, bench="maxm", data=str(data)
    )
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["eval", "score", "--answers", str(answers), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "skipped 1 outside the 23 languages" in result.output  # the Thai row: counted, not dropped silently
    saved = json.loads((tmp_path / "out/scores.json").read_text())
    assert saved["languages"]["hin_Deva"]["accuracy"] == 1.0 and saved["languages"]["zho_Hans"]["accuracy"] == 0.0
    assert saved["macro"]["accuracy"] == 0.5
    missing = answers_file(tmp_path / "b.jsonl", {"hin_Deva/1": "3"}, bench="maxm", data=str(data))
    (tmp_path / "more.jsonl").write_text(
        missing.read_text()
        + json.dumps({**json.loads(missing.read_text()), "id": "zho_Hans/9", "language": "zho_Hans"})
        + "\n"
    )
    bad = CliRunner().invoke(
        app, ["eval", "score", "--answers", str(tmp_path / "more.jsonl"), "--out", str(tmp_path / "o2")]
    )
    assert bad.exit_code == 2 and "lacks answers for 1 item(s): zho_Hans/2" in bad.output
    pairwise = answers_file(tmp_path / "p.jsonl", {"eng_Latn/0": "x"}, data=str(data))
    refused = CliRunner().invoke(app, ["eval", "score", "--answers", str(pairwise), "--out", str(tmp_path / "o3")])
    assert refused.exit_code == 2 and "aya-vision-bench is judged pairwise, not scored" in refused.output


def test_a_registered_metric_scores_items_that_name_it(tmp_path):
    from ayavision.evaluate.metrics import METRICS, register_metric

    @register_metric("test-shouted")
    def shouted(prediction: str, item: BenchItem) -> bool:
        return prediction == item.answers[0].upper()

    try:
        item = BenchItem(
            id="x/1", bench="b", language="eng_Latn", prompt="p", question="p", metric="test-shouted", answers=("red",)
        )
        assert score_item(item, "RED").correct and not score_item(item, "red").correct
        assert score_item(item, "RED").how == "test-shouted"
        with pytest.raises(ValueError, match="built-in"):
            register_metric("exact")
    finally:
        METRICS.pop("test-shouted")
