"""The report words its findings from the numbers, against the paper's expected direction, either way."""

from __future__ import annotations

from ayavision.recipe.report import _finding


def test_forgetting_and_recovery_are_reported_with_the_share_won_back():
    line = _finding("world-text", {"text_llm": 0.7, "unmerged": 0.3, "merged": 0.6}, 0.4)
    assert "from 0.700 (text LLM) to 0.300" in line and "winning back 75% of the loss" in line


def test_no_forgetting_is_said_plainly():
    line = _finding("world-text", {"text_llm": 0.5, "unmerged": 0.55, "merged": 0.5}, 0.4)
    assert "did not lower" in line and "did not appear" in line


def test_a_merge_that_costs_multimodal_accuracy_is_not_called_close():
    assert "close to it" in _finding("vqa", {"text_llm": None, "unmerged": 0.5, "merged": 0.49}, 0.4)
    costly = _finding("vqa", {"text_llm": None, "unmerged": 0.5, "merged": 0.2}, 0.4)
    assert "40% of it" in costly and "unlike the paper" in costly
