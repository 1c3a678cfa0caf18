"""The scene teacher's knowledge: rich answers as statements, injected hallucinations, and checking claims."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from ayavision.world.grammar import Parsed
from ayavision.world.scene import Scene, column, difference_of, row
from ayavision.world.tasks import Statement, difference_statement, object_statement, scene_statements, solve
from ayavision.world.vocab import BACKGROUND_COLOURS, OBJECT_COLOURS

COLOUR_SLOTS = ("c", "c1", "c2")
COUNT_SLOTS = ("n", "n1", "n2")


def unit_draw(*parts: object) -> float:
    """A number in [0, 1) fixed by its parts: the same decision on every retry, worker and machine."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def corrupts(seed: int, rate: float, scene_ids: list[str], instruction: str) -> bool:
    """Whether the teacher (seed, rate) injects a hallucination into its answer for this item.

    Keyed by the scenes and the instruction only, so the ground truth of which records were corrupted can
    be recomputed from the records themselves (see ``ayavision.world.measure``).
    """
    return rate > 0 and unit_draw(seed, "hallucinate", *scene_ids, instruction.strip()) < rate


def rich_statements(
    frame: str | None, slots: dict[str, Any], scenes: list[Scene], rng: random.Random
) -> list[Statement]:
    """What the teacher says for a question: the answer, then what supports it (always a colour or a count)."""
    scene = scenes[0]
    count_all: Statement = ("count_all", {"n": scene.count()})
    if frame == "ask_diff" and len(scenes) > 1:
        diff = difference_of(scenes[0], scenes[1])
        if diff is not None:
            return [
                ("diff_intro", {}),
                difference_statement(diff),
                ("count_pair", {"n1": scenes[0].count(), "n2": scenes[1].count()}),
                ("diff_rest", {}),
            ]
    answer = solve(frame, slots, scenes) if frame else None
    a = scene.the(slots["a"]) if "a" in slots else None
    if frame in ("ask_colour", "ask_size", "ask_where") and a is not None:
        first = {
            "ask_colour": ("colour_of", {"a": a.shape, "c": a.colour}),
            "ask_size": ("size_of", {"a": a.shape, "s": a.size}),
            "ask_where": ("where_is", {"a": a.shape, "p": a.position}),
        }[frame]
        return [first, object_statement(a), *_relations_of(scene, a.shape, rng), count_all]
    if frame == "ask_shape_by_colour" and answer is not None:
        obj = scene.with_colour(slots["c"])[0]
        return [("shape_has_colour", {"c": obj.colour, "a": obj.shape}), object_statement(obj), count_all]
    if frame == "ask_count_shape":
        same = [object_statement(o) for o in scene.objects if o.shape == slots["a"]]
        return [("count_shape", {"a": slots["a"], "n": answer}), *same, count_all]
    if frame == "ask_count_all":
        return [count_all, *(object_statement(o) for o in scene.objects)]
    if frame == "ask_exists":
        if answer:
            return [("yes", {}), *(object_statement(o) for o in scene.objects if o.shape == slots["a"])]
        return [("no", {}), ("shape_list", {"list": scene.shapes_present()}), count_all]
    if frame in ("ask_left", "ask_higher") and answer is not None:
        other = slots["b"] if answer == slots["a"] else slots["a"]
        relation = "left_of" if frame == "ask_left" else "above"
        first_obj, second_obj = scene.the(answer), scene.the(other)
        assert first_obj is not None and second_obj is not None
        return [(relation, {"a": answer, "b": other}), object_statement(first_obj), object_statement(second_obj)]
    if frame in ("ask_sum", "ask_more"):
        # The answer first, as for every other question (a recaption stays consistent with the short answer and
        # leads with it), then the counts it comes from.
        counts = [("count_shape", {"a": slots[k], "n": scene.count(slots[k])}) for k in ("a", "b")]
        if frame == "ask_sum":
            return [("total", {"n": answer}), *counts]
        verdict = ("more_yes" if answer else "more_no", {"a": slots["a"], "b": slots["b"]})
        return [("yes" if answer else "no", {}), *counts, verdict]
    if frame == "ask_background":
        return [("background", {"c": scene.background}), ("pattern", {"pat": scene.pattern}), count_all]
    if frame == "ask_read" and scene.text is not None:
        t = scene.text
        return [
            ("text_says", {"t": t.text}),
            ("text_where", {"p": t.position}),
            ("text_colour", {"c": t.colour}),
            count_all,
        ]
    # Captions, descriptions and anything the teacher does not recognise: the whole scene, in a varied order.
    statements = scene_statements(scene, relations=1, rng=rng)
    head, objects, tail = statements[:3], statements[3 : 3 + len(scene.objects)], statements[3 + len(scene.objects) :]
    rng.shuffle(objects)
    return [*head, *objects, *tail]


def _relations_of(scene: Scene, shape: str, rng: random.Random) -> list[Statement]:
    obj = scene.the(shape)
    others = [scene.the(s) for s in scene.unique_shapes() if s != shape]
    others = [o for o in others if o is not None and column(o.position) != column(obj.position)]  # type: ignore[union-attr]
    if obj is None or not others:
        return []
    other = rng.choice(others)
    if column(obj.position) < column(other.position):
        return [("left_of", {"a": obj.shape, "b": other.shape})]
    return [("left_of", {"a": other.shape, "b": obj.shape})]


@dataclass(frozen=True)
class Corruption:
    index: int  # which statement was changed
    slot: str
    before: Any
    after: Any


def inject(statements: list[Statement], rng: random.Random) -> tuple[list[Statement], Corruption | None]:
    """Change one colour or one count to a wrong value: the hallucination the filter must catch."""
    candidates = [
        (i, slot)
        for i, (frame, slots) in enumerate(statements)
        for slot in (*COLOUR_SLOTS, *COUNT_SLOTS)
        if slot in slots and frame != "total"
    ]
    if not candidates:
        return statements, None
    index, slot = rng.choice(candidates)
    frame, slots = statements[index]
    before = slots[slot]
    if slot in COUNT_SLOTS:
        after = before + 1 if before == 0 or rng.random() < 0.5 else before - 1
    else:
        family = BACKGROUND_COLOURS if before in BACKGROUND_COLOURS else OBJECT_COLOURS
        after = rng.choice([c for c in family if c != before])
    changed = list(statements)
    changed[index] = (frame, {**slots, slot: after})
    return changed, Corruption(index, slot, before, after)


def check_statement(frame: str, slots: dict[str, Any], scenes: list[Scene], earlier: list[Parsed]) -> bool | None:
    """Is a claim true of the scene(s)? None when it cannot be checked on its own (e.g. "Yes.")."""
    scene = scenes[0]
    a = scene.the(slots["a"]) if "a" in slots else None
    b = scene.the(slots["b"]) if "b" in slots else None
    if frame == "count_all":
        return slots["n"] == scene.count()
    if frame == "background":
        return slots["c"] == scene.background
    if frame == "pattern":
        return slots["pat"] == scene.pattern
    if frame == "object":
        return any(
            (o.shape, o.colour, o.size, o.position) == (slots["a"], slots["c"], slots["s"], slots["p"])
            for o in scene.objects
        )
    if frame in ("colour_of", "size_of", "where_is"):
        attribute, slot = {"colour_of": ("colour", "c"), "size_of": ("size", "s"), "where_is": ("position", "p")}[frame]
        return a is not None and getattr(a, attribute) == slots[slot]
    if frame == "count_shape":
        return scene.count(slots["a"]) == slots["n"]
    if frame in ("left_of", "above"):
        axis = column if frame == "left_of" else row
        return a is not None and b is not None and axis(a.position) < axis(b.position)
    if frame == "total":
        counts = [p.slots["n"] for p in earlier if p.frame == "count_shape"]
        return sum(counts) == slots["n"] if counts else None
    if frame in ("more_yes", "more_no"):
        more = scene.count(slots["a"]) > scene.count(slots["b"])
        return more == (frame == "more_yes")
    if frame == "shape_list":
        return set(slots["list"]) == set(scene.shapes_present())
    if frame == "shape_has_colour":
        found = scene.with_colour(slots["c"])
        return len(found) == 1 and found[0].shape == slots["a"]
    if frame in ("text_says", "text_where", "text_colour"):
        if scene.text is None:
            return False
        value = {
            "text_says": ("t", scene.text.text),
            "text_where": ("p", scene.text.position),
            "text_colour": ("c", scene.text.colour),
        }[frame]
        return slots[value[0]] == value[1]
    if frame.startswith("diff_") and frame not in ("diff_intro", "diff_rest"):
        if len(scenes) < 2:
            return False
        diff = difference_of(scenes[0], scenes[1])
        return diff is not None and difference_statement(diff) == (frame, slots)
    if frame == "count_pair":
        return len(scenes) > 1 and (slots["n1"], slots["n2"]) == (scenes[0].count(), scenes[1].count())
    return None


def check_text(pieces: list[Parsed], scenes: list[Scene]) -> tuple[int, int, int]:
    """(true claims, false claims, sentences that could not be read) in a parsed text."""
    true = false = unread = 0
    for index, piece in enumerate(pieces):
        if piece.frame is None:
            unread += 1
            continue
        verdict = check_statement(piece.frame, piece.slots, scenes, pieces[:index])
        true += verdict is True
        false += verdict is False
    return true, false, unread
