"""Templates (built-in, overridden, refused), tag parsing, the judge's verdict and the stage (a) rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from ayavision.annotate.config import DEFAULT_TASK_TEMPLATES, RulesConfig
from ayavision.annotate.parsing import extract_tag, parse_verdict
from ayavision.annotate.rules import Rules
from ayavision.annotate.templates import (
    JUDGE_FIELDS,
    RECAPTION_FIELDS,
    REPHRASE_FIELDS,
    TRANSLATE_FIELDS,
    TemplateError,
    builtin_template_names,
    load_template,
)


def test_every_builtin_template_has_its_placeholders():
    for name in set(DEFAULT_TASK_TEMPLATES.values()):
        assert "<answer>" in load_template(f"recaption/{name}", RECAPTION_FIELDS).text
    load_template("judge", JUDGE_FIELDS)
    load_template("translate", TRANSLATE_FIELDS)
    assert "<translation>" in load_template("rephrase", REPHRASE_FIELDS).text
    assert len(builtin_template_names()) == 11


def test_render_fills_only_its_own_fields():
    template = load_template("recaption/vqa", RECAPTION_FIELDS)
    text = template.render(instruction="What is $\\frac{a}{b}$ here {x}?", answer="{answer}")
    assert "What is $\\frac{a}{b}$ here {x}?" in text and "Reference answer: {answer}" in text
    with pytest.raises(TemplateError, match="needs values for: answer"):
        template.render(instruction="q")


def test_a_folder_overrides_builtins_and_a_missing_placeholder_is_refused(tmp_path: Path):
    (tmp_path / "recaption").mkdir()
    (tmp_path / "recaption" / "vqa.txt").write_text("Q: {instruction} A: {answer} <answer>", encoding="utf-8")
    custom = load_template("recaption/vqa", RECAPTION_FIELDS, tmp_path)
    assert custom.text.startswith("Q: {instruction}") and custom.origin.endswith("vqa.txt")
    assert load_template("recaption/chart", RECAPTION_FIELDS, tmp_path).origin == "built-in"
    (tmp_path / "recaption" / "ocr.txt").write_text("Answer {instruction} well.", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"ocr\.txt \(recaption/ocr\) lacks \{answer\}"):
        load_template("recaption/ocr", RECAPTION_FIELDS, tmp_path)
    with pytest.raises(TemplateError, match="does not exist"):
        load_template("judge", JUDGE_FIELDS, tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("reply", "status", "text"),
    [
        ("<answer>A cat.</answer>", "ok", "A cat."),
        ("Put it between <answer> and </answer>.\n<answer>The real one.</answer>", "ok", "The real one."),
        ("<answer>Cut off in the mid", "unclosed", "Cut off in the mid"),
        ("No tags at all.", "missing", ""),
        ("<answer>  </answer>", "empty", ""),
    ],
)
def test_extract_tag(reply: str, status: str, text: str):
    parsed = extract_tag(reply, "answer")
    assert (parsed.status, parsed.text) == (status, text)


def test_parse_verdict():
    assert parse_verdict("YES") is True and parse_verdict(" no.") is False
    assert parse_verdict("Yes, it agrees; no contradictions.") is True
    assert parse_verdict("Maybe") is None and parse_verdict("Yesterday") is None


def test_rules_catch_refusals_leaked_prompt_phrases_empty_and_cut_answers():
    rules = Rules()
    assert rules.violation("The man holds a red umbrella.") is None
    assert rules.violation("I’m sorry, but I can’t help with that.").startswith("refusal")
    assert rules.violation("As the reference answer says, it is red.").startswith("repeats a prompt phrase")
    assert rules.violation("It is red </answer> really") is not None
    assert rules.violation("   ") == "empty answer"
    assert rules.violation("It is red and", finish_reason="length").startswith("truncated")
    assert rules.violation("The cannot-miss red umbrella.") is None  # 'i cannot' needs the word 'i'
    custom = Rules(RulesConfig(refusal_phrases=["no comment"], min_words=3, drop_truncated=False))
    assert custom.violation("No comment on that.").startswith("refusal")
    assert custom.violation("Too short") == "empty answer"
    assert custom.violation("Long enough answer here", finish_reason="length") is None
