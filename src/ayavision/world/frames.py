"""The sentence forms ("frames") every language writes: their slots, and what a question's answer is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# What a slot holds, by its name in the templates: {a} and {b} are shapes, {c}, {c1}, {c2} colours, ...
SLOT_KINDS: dict[str, str] = {
    "a": "shape",
    "b": "shape",
    "c": "colour",
    "c1": "colour",
    "c2": "colour",
    "s": "size",
    "p": "position",
    "p1": "position",
    "p2": "position",
    "pat": "pattern",
    "n": "number",
    "n1": "number",
    "n2": "number",
    "t": "text",
    "list": "shape_list",
}

AnswerKind = Literal[
    "colour", "size", "position", "shape", "number", "yesno", "text", "caption", "description", "difference"
]


@dataclass(frozen=True)
class Frame:
    id: str
    slots: tuple[str, ...] = ()
    answer: AnswerKind | None = None  # for questions: the kind of their short answer
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_question(self) -> bool:
        return self.answer is not None


def _q(id: str, slots: tuple[str, ...], answer: AnswerKind) -> Frame:
    return Frame(id, slots, answer)


def _s(id: str, *slots: str) -> Frame:
    return Frame(id, tuple(slots))


FRAMES: dict[str, Frame] = {
    frame.id: frame
    for frame in (
        # Questions and instructions (user turns).
        _q("ask_caption", (), "caption"),
        _q("ask_describe", (), "description"),
        _q("ask_colour", ("a",), "colour"),
        _q("ask_size", ("a",), "size"),
        _q("ask_where", ("a",), "position"),
        _q("ask_shape_by_colour", ("c",), "shape"),
        _q("ask_count_shape", ("a",), "number"),
        _q("ask_count_all", (), "number"),
        _q("ask_exists", ("a",), "yesno"),
        _q("ask_left", ("a", "b"), "shape"),
        _q("ask_higher", ("a", "b"), "shape"),
        _q("ask_sum", ("a", "b"), "number"),
        _q("ask_more", ("a", "b"), "yesno"),
        _q("ask_background", (), "colour"),
        _q("ask_diff", (), "difference"),
        _q("ask_read", (), "text"),
        # Statements (answers and descriptions).
        _s("count_all", "n"),
        _s("background", "c"),
        _s("pattern", "pat"),
        _s("object", "a", "c", "s", "p"),
        _s("colour_of", "a", "c"),
        _s("size_of", "a", "s"),
        _s("where_is", "a", "p"),
        _s("count_shape", "a", "n"),
        _s("left_of", "a", "b"),
        _s("above", "a", "b"),
        _s("total", "n"),
        _s("more_yes", "a", "b"),
        _s("more_no", "a", "b"),
        _s("shape_list", "list"),
        _s("yes"),
        _s("no"),
        _s("shape_has_colour", "c", "a"),
        _s("text_says", "t"),
        _s("text_where", "p"),
        _s("text_colour", "c"),
        _s("diff_intro"),
        _s("diff_colour", "a", "c1", "c2"),
        _s("diff_added", "a"),
        _s("diff_removed", "a"),
        _s("diff_moved", "a", "p1", "p2"),
        _s("diff_rest"),
        _s("count_pair", "n1", "n2"),
    )
}

QUESTIONS: tuple[str, ...] = tuple(f.id for f in FRAMES.values() if f.is_question)
STATEMENTS: tuple[str, ...] = tuple(f.id for f in FRAMES.values() if not f.is_question)

# Variants of a template chosen by the number in the slot `n` (English needs them; others may use them).
COUNT_VARIANTS = ("zero", "one", "other")
