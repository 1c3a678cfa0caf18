"""Reading the chosen option out of free text in many languages and scripts."""

from __future__ import annotations

import pytest

from ayavision.evaluate.choices import extract_choice, format_choice_prompt

OPTIONS = ["cat", "dog", "bird", "fish"]


@pytest.mark.parametrize(
    ("reply", "index"),
    [
        ("B", 1),
        ("(C)", 2),
        ("**D.**", 3),
        ("Ｂ", 1),  # full-width letter
        ("B. The animal is a dog.", 1),
        ("A cat is sitting there, so the answer is (C).", 2),  # "A cat" is an article, not a label
        ("Answer: D", 3),
        ("答案是B。", 1),  # Chinese: no space around the label
        ("正解は（C）です。", 2),  # Japanese, full-width brackets
        ("الإجابة الصحيحة: (A)", 0),  # Arabic
        ("Ответ: В", 1),  # Cyrillic В written for B
        ("सही उत्तर D है।", 3),  # Devanagari
        ("Η σωστή απάντηση είναι Β", 1),  # Greek capital beta; the article Η is not an option here
        ("La respuesta correcta es la opción C, porque ...", 2),
        ("I think the answer is (b).", 1),  # lower case counts when bracketed
    ],
)
def test_labels_in_any_script(reply: str, index: int) -> None:
    choice = extract_choice(reply, OPTIONS)
    assert choice is not None and choice.index == index, choice


def test_option_text_in_the_reply_language() -> None:
    russian = ["кошка", "собака", "птица", "рыба"]
    assert extract_choice("На картинке собака.", russian).index == 1
    chinese = ["猫", "狗", "鸟", "鱼"]
    assert extract_choice("图片里是一只狗", chinese).index == 1
    arabic_digits = ["١٢", "٣٤", "٥٦", "٧٨"]
    assert extract_choice("The total is 34", arabic_digits).index == 1


def test_longer_matching_option_wins() -> None:
    options = ["York", "New York", "Boston", "Paris"]
    assert extract_choice("It is New York.", options).index == 1


@pytest.mark.parametrize(
    "reply",
    ["", "I do not know.", "Either B or C, hard to say.", "Both a dog and a cat."],
)
def test_unreadable_replies_give_none(reply: str) -> None:
    assert extract_choice(reply, OPTIONS) is None


def test_prompt_letters_every_option() -> None:
    prompt = format_choice_prompt("Which animal?", ["cat", "dog"])
    assert "A. cat" in prompt and "B. dog" in prompt and prompt.startswith("Which animal?")
    with pytest.raises(ValueError, match="1 to 10 options"):
        format_choice_prompt("?", [str(i) for i in range(11)])
