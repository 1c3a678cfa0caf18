"""Questions about scenes like the paper's task categories, their true answers, and the short "original" answers."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ayavision.world.frames import FRAMES
from ayavision.world.grammar import render, short_answer
from ayavision.world.scene import Difference, Scene, column, difference_of, row
from ayavision.world.vocab import OBJECT_COLOURS, SHAPES

WorldTask = Literal["caption", "describe", "vqa", "counting", "difference", "ocr"]
WORLD_TASKS: tuple[str, ...] = get_args(WorldTask)
# The record task (the data format's categories) each world task is filed under.
RECORD_TASK: dict[str, str] = {
    "caption": "captioning",
    "describe": "captioning",
    "vqa": "vqa",
    "counting": "reasoning",
    "difference": "multi_image",
    "ocr": "ocr",
}
Statement = tuple[str, dict[str, Any]]  # (frame id, slot values)


@dataclass(frozen=True)
class Question:
    """A question frame with its slots and its true answer (``None`` for free-form ones: captions...)."""

    frame: str
    slots: dict[str, Any] = field(default_factory=dict)
    answer: Any = None

    @property
    def kind(self) -> str:
        kind = FRAMES[self.frame].answer
        assert kind is not None
        return kind

    def text(self, language: str, variant: int = 0) -> str:
        return render(self.frame, self.slots, language, variant)

    def short_answer(self, language: str) -> str:
        return short_answer(self.kind, self.answer, language)


def solve(frame: str, slots: dict[str, Any], scenes: list[Scene]) -> Any:
    """The true answer to a question about the scene(s), or None when the question does not apply."""
    if not scenes:
        return None
    scene = scenes[0]
    a = scene.the(slots["a"]) if "a" in slots else None
    b = scene.the(slots["b"]) if "b" in slots else None
    if frame in ("ask_colour", "ask_size", "ask_where"):
        return None if a is None else {"ask_colour": a.colour, "ask_size": a.size, "ask_where": a.position}[frame]
    if frame == "ask_shape_by_colour":
        found = scene.with_colour(slots["c"])
        return found[0].shape if len(found) == 1 else None
    if frame == "ask_count_shape":
        return scene.count(slots["a"])
    if frame == "ask_count_all":
        return scene.count()
    if frame == "ask_exists":
        return scene.count(slots["a"]) > 0
    if frame in ("ask_left", "ask_higher"):
        if a is None or b is None:
            return None
        axis = column if frame == "ask_left" else row
        if axis(a.position) == axis(b.position):
            return None
        return a.shape if axis(a.position) < axis(b.position) else b.shape
    if frame == "ask_sum":
        return scene.count(slots["a"]) + scene.count(slots["b"])
    if frame == "ask_more":
        return scene.count(slots["a"]) > scene.count(slots["b"])
    if frame == "ask_background":
        return scene.background
    if frame == "ask_read":
        return scene.text.text if scene.text else None
    if frame == "ask_diff":
        return difference_of(scene, scenes[1]) if len(scenes) > 1 else None
    return None


def _pairs(scene: Scene, axis) -> list[tuple[str, str]]:
    unique = scene.unique_shapes()
    return [
        (x, y)
        for x in unique
        for y in unique
        if x != y and axis(scene.the(x).position) != axis(scene.the(y).position)  # type: ignore[union-attr]
    ]


def _vqa_options(rng: random.Random, scene: Scene) -> list[tuple[str, dict[str, Any]]]:
    unique = scene.unique_shapes()
    options: list[tuple[str, dict[str, Any]]] = [("ask_background", {})]
    if unique:
        for frame in ("ask_colour", "ask_size", "ask_where"):
            options.append((frame, {"a": rng.choice(unique)}))
    single = [c for c in OBJECT_COLOURS if len(scene.with_colour(c)) == 1]
    if single:
        options.append(("ask_shape_by_colour", {"c": rng.choice(single)}))
    present = scene.shapes_present()
    absent = [s for s in SHAPES if s not in present]
    exists = rng.choice(present) if present and (not absent or rng.random() < 0.5) else rng.choice(absent)
    options.append(("ask_exists", {"a": exists}))
    for frame, axis in (("ask_left", column), ("ask_higher", row)):
        pairs = _pairs(scene, axis)
        if pairs:
            x, y = rng.choice(pairs)
            options.append((frame, {"a": x, "b": y}))
    return options


def _counting_options(rng: random.Random, scene: Scene) -> list[tuple[str, dict[str, Any]]]:
    present = scene.shapes_present()
    # Mostly ask about shapes that are there: "0" should be an answer, not the usual one.
    shape = rng.choice(present) if present and rng.random() < 0.75 else rng.choice(SHAPES)
    x, y = rng.sample(present, 2) if len(present) >= 2 else (shape, rng.choice([s for s in SHAPES if s != shape]))
    return [
        ("ask_count_all", {}),
        ("ask_count_shape", {"a": shape}),
        ("ask_sum", {"a": x, "b": y}),
        ("ask_more", {"a": x, "b": y}),
    ]


def pick_question(rng: random.Random, task: str, scenes: list[Scene]) -> Question | None:
    """A question of a world task about the scene(s), with its answer; None when the scene offers none."""
    scene = scenes[0]
    if task == "caption":
        return Question("ask_caption")
    if task == "describe":
        return Question("ask_describe")
    if task == "difference":
        answer = solve("ask_diff", {}, scenes)
        return Question("ask_diff", {}, answer) if answer is not None else None
    if task == "ocr":
        return Question("ask_read", {}, scene.text.text) if scene.text else None
    options = _vqa_options(rng, scene) if task == "vqa" else _counting_options(rng, scene)
    frame, slots = rng.choice(options)
    answer = solve(frame, slots, scenes)
    return None if answer is None else Question(frame, slots, answer)


def more_questions(rng: random.Random, task: str, scenes: list[Scene], asked: Question, n: int) -> list[Question]:
    """Up to ``n`` further questions of a vqa or counting task about the same scene(s), none repeating ``asked``
    or each other: the later turns of a multi-turn conversation about one image."""
    if task not in ("vqa", "counting") or n <= 0:
        return []
    options = _vqa_options(rng, scenes[0]) if task == "vqa" else _counting_options(rng, scenes[0])
    rng.shuffle(options)

    def key(frame: str, slots: dict[str, Any]) -> tuple[str, ...]:
        return (frame, *sorted(map(str, slots.values())))  # "hearts and circles" is "circles and hearts"

    seen, out = {key(asked.frame, asked.slots)}, []
    for frame, slots in options:
        answer = solve(frame, slots, scenes)
        if key(frame, slots) in seen or answer is None:
            continue
        seen.add(key(frame, slots))
        out.append(Question(frame, slots, answer))
        if len(out) == n:
            break
    return out


# Statements: what is true of a scene, as frames ------------------------------------------------------
def object_statement(obj) -> Statement:
    return ("object", {"a": obj.shape, "c": obj.colour, "s": obj.size, "p": obj.position})


def scene_statements(scene: Scene, relations: int = 0, rng: random.Random | None = None) -> list[Statement]:
    """A description of the scene as frames: the count, the background, every object, some relations."""
    out: list[Statement] = [
        ("count_all", {"n": scene.count()}),
        ("background", {"c": scene.background}),
        ("pattern", {"pat": scene.pattern}),
    ]
    out += [object_statement(obj) for obj in scene.objects]
    if relations and rng is not None:
        for frame, axis in (("left_of", column), ("above", row)):
            pairs = _pairs(scene, axis)
            rng.shuffle(pairs)
            for x, y in pairs[:relations]:
                first, second = (x, y) if axis(scene.the(x).position) < axis(scene.the(y).position) else (y, x)  # type: ignore[union-attr]
                out.append((frame, {"a": first, "b": second}))
    if scene.text is not None:
        out += [
            ("text_says", {"t": scene.text.text}),
            ("text_where", {"p": scene.text.position}),
            ("text_colour", {"c": scene.text.colour}),
        ]
    return out


def difference_statement(diff: Difference) -> Statement:
    if diff.kind == "colour":
        return ("diff_colour", {"a": diff.shape, "c1": diff.before, "c2": diff.after})
    if diff.kind == "moved":
        return ("diff_moved", {"a": diff.shape, "p1": diff.before, "p2": diff.after})
    return ("diff_added" if diff.kind == "added" else "diff_removed", {"a": diff.shape})


def render_statements(statements: list[Statement], language: str, rng: random.Random | None = None) -> str:
    """Statements as one text; with ``rng`` English varies its wording (the teacher's richer style)."""
    parts = []
    for frame, slots in statements:
        variant = rng.randrange(8) if rng is not None else 0
        parts.append(render(frame, slots, language, variant))
    return " ".join(parts)


def english_caption(scene: Scene) -> str:
    """A short English caption, as in LLaVA-Pretrain: every object, smallest words, no positions."""
    names = [f"a {'medium-sized' if o.size == 'medium' else o.size} {o.colour} {o.shape}" for o in scene.objects]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    text = f"{listed} on a {scene.background} background"
    if scene.text is not None:
        text += f' with the word "{scene.text.text}"'
    return text[0].upper() + text[1:] + "."


def original_answer(question: Question, scenes: list[Scene], language: str = "eng_Latn") -> str:
    """The short "original" answer: a word for questions, a caption, a plain description, the change."""
    if question.frame == "ask_caption":
        if language == "eng_Latn":
            return english_caption(scenes[0])
        return render_statements(
            [("shape_list", {"list": scenes[0].shapes_present()}), ("background", {"c": scenes[0].background})],
            language,
        )
    if question.frame == "ask_describe":
        return render_statements(scene_statements(scenes[0]), language)
    if question.frame == "ask_diff":
        return render_statements([difference_statement(question.answer)], language)
    return question.short_answer(language)
