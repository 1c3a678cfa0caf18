"""The text-only task: answerable from the text alone, in every language, scored against chance."""

from __future__ import annotations

import pytest

from ayavision.evaluate import load_benchmark, score_academic
from ayavision.evaluate.answers import read_answers
from ayavision.world import TextTaskConfig, make_text_task, read_text_task, score_text_task, text_samples
from ayavision.world.config import ALL_LANGUAGES
from ayavision.world.grammar import short_answer
from ayavision.world.oracle import scene_answer
from ayavision.world.texttask import text_dialogue


def test_every_answer_is_written_in_the_prompt_and_follows_from_it():
    samples = text_samples(TextTaskConfig(n=92, seed=4))
    assert {s.language for s in samples} <= set(ALL_LANGUAGES) and len({s.language for s in samples}) > 15
    for sample in samples:
        assert sample.answer in sample.prompt  # the value is copied from the description
        language, gold, kind = scene_answer(sample.prompt, [])  # read the text back, answer from it alone
        assert language == sample.language and short_answer(kind, gold, language) == sample.answer


def test_dialogues_ask_several_questions_about_one_description():
    dialogue = text_dialogue(TextTaskConfig(n=1, seed=1), 0, "train", turns=3)
    messages = dialogue.messages()
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3
    assert (
        messages[0]["content"].startswith(dialogue.description) and dialogue.description not in messages[2]["content"]
    )


def test_scoring_against_chance():
    samples = text_samples(TextTaskConfig(n=60, seed=2))
    perfect = score_text_task(samples, [s.answer.upper() + "." for s in samples])  # case and punctuation ignored
    assert perfect.accuracy == 1.0
    wrong = score_text_task(samples, {s.id: "?" for s in samples})
    assert wrong.accuracy == 0.0 and 0.1 < wrong.chance < 0.35
    assert set(perfect.by_kind) == {"colour", "size", "position"}
    with pytest.raises(ValueError, match="prediction"):
        score_text_task(samples, ["x"])


def test_text_task_is_a_world_text_benchmark(tmp_path):
    make_text_task(tmp_path / "t", n=30, seed=5)
    samples = read_text_task(tmp_path / "t")
    loaded = load_benchmark("world-text", tmp_path / "t" / "data.jsonl")
    assert len(loaded.items) == 30 and not loaded.bench.has_images
    answers = tmp_path / "answers.jsonl"
    lines = [
        {
            "id": item.id,
            "bench": "world-text",
            "language": item.language,
            "prompt": item.prompt,
            "answer": sample.answer if i % 2 else "nope",
            "finish_reason": "stop",
            "prompt_tokens": 1,
            "completion_tokens": 1,
            "model": {"name": "m"},
            "generation": {},
            "data": None,
        }
        for i, (item, sample) in enumerate(zip(loaded.items, samples, strict=True))
    ]
    import json

    answers.write_text("".join(json.dumps(line) + "\n" for line in lines))
    scores = score_academic(loaded.items, read_answers(answers))
    assert scores["overall"]["accuracy"] == 0.5


def test_an_answer_counts_when_its_first_sentence_is_right_and_not_when_it_hedges():
    sample = next(s for s in text_samples(TextTaskConfig(n=40, seed=3, languages=("fra_Latn",))) if s.kind == "colour")
    rival = next(c for c in ("rouge", "vert", "bleu") if c != sample.answer)
    score = score_text_task(
        [sample] * 4,
        [
            f"{sample.answer}. Et la taille est grande.",  # right first, more after: right
            f"{sample.answer}\nQuelle est la taille ?",  # right on the first line: right
            f"{rival}. Ou peut-être {sample.answer}.",  # wrong first: wrong
            f"C'est {rival} ou {sample.answer}",  # two colours, no commitment: wrong
        ],
    )
    assert score.accuracy == 0.5


def test_guess_accuracy_averages_the_odds_of_each_questions_kind():
    from ayavision.data import ConversationRecord, text_part
    from ayavision.world.measure import guess_accuracy

    def asked(question: str, i: int) -> ConversationRecord:
        return ConversationRecord(
            id=f"q{i}",
            messages=[
                {"role": "user", "content": [text_part(question)]},
                {"role": "assistant", "content": [text_part("x")]},
            ],
            language="eng_Latn",
            task="vqa",
            source="test",
            bucket="original",
        )

    records = [asked("Is there a circle in the image?", 0), asked("What size is the star?", 1)]
    assert guess_accuracy(records) == pytest.approx((1 / 2 + 1 / 3) / 2)


@pytest.mark.parametrize(
    ("prediction", "gold", "language", "right"),
    [
        ("图片中的图形数量：5。圆形：颜色为蓝色。", "5", "zho_Hans", True),  # normalising glues digits to Han
        ("画像内の図形の数：2。", "2", "jpn_Jpan", True),
        ("图片中的图形数量：4。", "5", "zho_Hans", False),
        ("There are 3 shapes in the image.", "3", "eng_Latn", True),
        ("There are 3 circles and 2 squares.", "3", "eng_Latn", False),  # two counts: no commitment
        ("3", "3", "eng_Latn", True),
    ],
)
def test_a_count_is_right_when_it_is_the_only_number_the_answer_states(prediction, gold, language, right):
    from ayavision.world.oracle import answers_right
    from ayavision.world.tasks import Question

    question = Question("ask_count_all", {}, int(gold)).text(language)
    assert answers_right(prediction, gold, question, language) is right


def _asked(frame: str, slots: dict, answer, language: str) -> tuple[str, str]:
    """(question, gold short answer) as the benchmarks write them."""
    from ayavision.world.frames import FRAMES
    from ayavision.world.grammar import short_answer
    from ayavision.world.tasks import Question

    return Question(frame, slots, answer).text(language), short_answer(FRAMES[frame].answer, answer, language)


@pytest.mark.parametrize("language", ["eng_Latn", "vie_Latn", "kor_Hang", "arb_Arab"])
@pytest.mark.parametrize(("frame", "statement"), [("ask_higher", "above"), ("ask_left", "left_of")])
def test_a_comparison_is_judged_by_the_relation_its_answer_states(language, frame, statement):
    """A right answer to "Which is higher: the star or the square?" names both shapes; the relation decides."""
    from ayavision.world.grammar import render
    from ayavision.world.oracle import answers_right

    question, gold = _asked(frame, {"a": "star", "b": "square"}, "square", language)
    right = render(statement, {"a": "square", "b": "star"}, language)
    inverted = render(statement, {"a": "star", "b": "square"}, language)
    other_relation = render("left_of" if statement == "above" else "above", {"a": "square", "b": "star"}, language)
    about_others = render(statement, {"a": "square", "b": "circle"}, language)
    assert answers_right(right, gold, question, language)
    assert answers_right(f"{right} {inverted}", gold, question, language)  # the first sentence decides
    assert not answers_right(inverted, gold, question, language)
    assert not answers_right(other_relation, gold, question, language)
    assert not answers_right(about_others, gold, question, language)


@pytest.mark.parametrize("language", ["zho_Hans", "jpn_Jpan", "eng_Latn", "deu_Latn"])
def test_a_size_stated_about_the_asked_shape_is_right_even_where_the_word_for_size_holds_size_words(language):
    """大小 ("size") holds 大 and 小, 大きさ holds 大: a right answer must not read as naming two sizes."""
    from ayavision.world.grammar import render
    from ayavision.world.oracle import answers_right

    question, gold = _asked("ask_size", {"a": "triangle"}, "medium", language)
    assert answers_right(render("size_of", {"a": "triangle", "s": "medium"}, language), gold, question, language)
    assert not answers_right(render("size_of", {"a": "triangle", "s": "large"}, language), gold, question, language)
    if language in ("zho_Hans", "jpn_Jpan"):  # the statement must be about the asked shape
        assert not answers_right(render("size_of", {"a": "heart", "s": "medium"}, language), gold, question, language)
