"""The text-only task: a scene written as sentences, one question about it, a one-word answer, 23 languages.

It measures the LLM's text skill and its forgetting: a text LLM pretrained on it answers well above chance;
multimodal SFT erodes it; merging wins it back. Answers are short and checkable: the lexicon word (or
number) in the question's language, compared after ``normalize_answer``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ayavision.data import ConversationRecord, read_records, text_part, write_jsonl
from ayavision.languages import get_language
from ayavision.world.cache import building, cached
from ayavision.world.config import TextTaskConfig
from ayavision.world.frames import FRAMES
from ayavision.world.grammar import render, short_answer
from ayavision.world.scene import Scene, random_object, seeded_rng
from ayavision.world.tasks import solve
from ayavision.world.vocab import OBJECT_COLOURS, POSITIONS, SHAPES

DATA_FILE = "data.jsonl"
SOURCE = "shapes-world-text"


@dataclass(frozen=True)
class TextSample:
    id: str
    language: str
    prompt: str
    answer: str
    kind: str  # colour, size, position, shape, number
    frame: str

    def record(self) -> ConversationRecord:
        return ConversationRecord(
            id=self.id,
            messages=[
                {"role": "user", "content": [text_part(self.prompt)]},
                {"role": "assistant", "content": [text_part(self.answer)]},
            ],
            language=self.language,
            task="text",
            source=SOURCE,
            bucket="text",
            meta={
                "world": {
                    "frame": self.frame,
                    "answer_kind": self.kind,
                    "direction": get_language(self.language).direction,
                }
            },
        )


# Each object is written as three facts whose wording matches the questions ("Couleur du cercle : rouge." /
# "Quelle est la couleur du cercle ?"): answering is finding the fact and copying its value.
FACT_OF = {"ask_colour": "colour_of", "ask_size": "size_of", "ask_where": "where_is"}


@dataclass(frozen=True)
class TextDialogue:
    """A written scene and several questions about it (training uses every turn; evaluation the first)."""

    id: str
    language: str
    description: str
    turns: tuple[tuple[str, str, str, str], ...]  # (question, answer, kind, frame)

    def messages(self) -> list[dict[str, str]]:
        out = []
        for number, (question, answer, _, _) in enumerate(self.turns):
            text = f"{self.description}\n{question}" if number == 0 else question
            out += [{"role": "user", "content": text}, {"role": "assistant", "content": answer}]
        return out


def _ask(rng, config: TextTaskConfig, scene: Scene, shapes: list[str]) -> tuple[str, dict[str, Any]]:
    options = [q for q in config.questions if q != "ask_shape_by_colour"]
    single = [c for c in OBJECT_COLOURS if len(scene.with_colour(c)) == 1]
    if "ask_shape_by_colour" in config.questions and single:
        options.append("ask_shape_by_colour")
    frame = rng.choice(options)
    if frame == "ask_shape_by_colour":
        return frame, {"c": rng.choice(single)}
    return frame, ({"a": rng.choice(shapes)} if frame in FACT_OF else {})


def _fact(frame: str, shape: str, value: str, language: str) -> str:
    slot = {"ask_colour": "c", "ask_size": "s", "ask_where": "p"}[frame]
    return render(FACT_OF[frame], {"a": shape, slot: value}, language)


def text_dialogue(config: TextTaskConfig, index: int, split: str = "", turns: int = 1) -> TextDialogue:
    """Dialogue ``index`` (the same whatever ``n``): distinct shapes, so "the circle" names one object."""
    rng = seeded_rng(config.seed, "text", split, index)
    language = rng.choice(config.languages)
    k = rng.randint(config.min_objects, config.max_objects)
    shapes, cells = rng.sample(SHAPES, k), rng.sample(POSITIONS, k)
    objects = tuple(random_object(rng, cell, shape=shape) for shape, cell in zip(shapes, cells, strict=True))
    scene = Scene(id="text", width=300, height=300, background="white", pattern="plain", objects=objects)
    lines = []
    for obj in objects:
        lines.append(render("colour_of", {"a": obj.shape, "c": obj.colour}, language))
        lines.append(render("size_of", {"a": obj.shape, "s": obj.size}, language))
        lines.append(render("where_is", {"a": obj.shape, "p": obj.position}, language))
    asked = []
    for _ in range(turns):
        frame, slots = _ask(rng, config, scene, shapes)
        kind = FRAMES[frame].answer
        answer = solve(frame, slots, [scene])
        assert kind is not None and answer is not None
        if config.answer_style == "sentence" and frame in FACT_OF:
            reply = _fact(frame, slots["a"], answer, language)
        else:
            reply = short_answer(kind, answer, language)
        asked.append((render(frame, slots, language), reply, kind, frame))
    tag = f"{split}/" if split else ""
    return TextDialogue(f"world-text/{config.seed}/{tag}{index:06d}", language, "\n".join(lines), tuple(asked))


def text_sample(config: TextTaskConfig, index: int, split: str = "") -> TextSample:
    """Sample ``index``: the written scene and one question (the first turn of ``text_dialogue``)."""
    dialogue = text_dialogue(config, index, split)
    question, answer, kind, frame = dialogue.turns[0]
    return TextSample(dialogue.id, dialogue.language, f"{dialogue.description}\n{question}", answer, kind, frame)


def text_samples(config: TextTaskConfig, split: str = "") -> list[TextSample]:
    return [text_sample(config, i, split) for i in range(config.n)]


def make_text_task(
    out: str | Path, config: TextTaskConfig | None = None, *, held_out: TextTaskConfig | None = None, **settings: Any
) -> dict[str, Any]:
    """Write the text task as conversation records (``task: text``, ``bucket: text``) to ``out/data.jsonl``.

    ``make_text_task(out, n=500, seed=1, languages="all")``; reused when ``out`` holds this config. With
    ``held_out`` (a benchmark's config), a sample whose prompt the benchmark asks is left out, and counted: the
    task's space is small enough (one object, two questions) that other seeds draw some of the same prompts.
    """
    config = config or TextTaskConfig(**settings)
    kind = "text-task" if held_out is None else f"text-task-without-{held_out.fingerprint()}"
    done = cached(out, kind, config)
    if done is not None:
        return done
    with building(out, kind, config) as (tmp, finish):
        samples = text_samples(config)
        asked = {s.prompt for s in text_samples(held_out)} if held_out is not None else set()
        kept = [s for s in samples if s.prompt not in asked]
        write_jsonl((s.record() for s in kept), tmp / DATA_FILE, overwrite=True)
        return finish(
            records=len(kept), held_out_prompts=len(samples) - len(kept), data=DATA_FILE, chance=chance_accuracy(kept)
        )


def read_text_task(path: str | Path) -> list[TextSample]:
    """Samples back from a text-task folder or its ``data.jsonl``."""
    path = Path(path)
    records = read_records(path / DATA_FILE if path.is_dir() else path)
    out = []
    for record in records:
        world = record.meta.get("world", {})
        out.append(
            TextSample(
                record.id,
                record.language,
                record.user_prompt_text(),
                record.assistant_texts()[0],
                world.get("answer_kind", ""),
                world.get("frame", ""),
            )
        )
    return out


_CHOICES = {"colour": len(OBJECT_COLOURS), "size": 3, "position": len(POSITIONS), "shape": len(SHAPES)}


def chance_accuracy(samples: Iterable[TextSample]) -> float:
    """Expected accuracy of a uniform guess among the answers of each question's kind (6 colours, 3 sizes...)."""
    values = [1 / _CHOICES.get(s.kind, 10) for s in samples]
    return sum(values) / len(values) if values else 0.0


@dataclass(frozen=True)
class TaskScore:
    n: int
    accuracy: float
    chance: float
    by_language: dict[str, float]
    by_kind: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "chance": self.chance,
            "by_language": self.by_language,
            "by_kind": self.by_kind,
        }


def is_correct(prediction: str, sample: TextSample) -> bool:
    """The world's answer rule (``oracle.answers_right``): the gold answer, in full or in the first sentence."""
    from ayavision.world.oracle import answers_right  # the oracle reads texts with the world's grammar

    return answers_right(prediction, sample.answer, sample.prompt, sample.language)


def score_text_task(samples: Sequence[TextSample], predictions: Sequence[str] | dict[str, str]) -> TaskScore:
    """Accuracy of predictions (in sample order, or by sample id) against the one-word answers.

    Exact match after ``normalize_answer`` (case, punctuation, digits of any script); per language, per kind,
    and the chance level of a uniform guess.
    """
    if isinstance(predictions, dict):
        missing = [s.id for s in samples if s.id not in predictions]
        if missing:
            raise ValueError(f"{len(missing)} sample(s) have no prediction, e.g. {missing[0]}")
        preds = [predictions[s.id] for s in samples]
    else:
        preds = list(predictions)
        if len(preds) != len(samples):
            raise ValueError(f"{len(preds)} prediction(s) for {len(samples)} sample(s)")
    if not samples:
        raise ValueError("no samples to score")
    right: dict[str, list[bool]] = defaultdict(list)
    kinds: dict[str, list[bool]] = defaultdict(list)
    total = []
    for sample, pred in zip(samples, preds, strict=True):
        ok = is_correct(pred, sample)
        right[sample.language].append(ok)
        kinds[sample.kind].append(ok)
        total.append(ok)

    def mean(values: list[bool]) -> float:
        return sum(values) / len(values)

    return TaskScore(
        n=len(total),
        accuracy=mean(total),
        chance=chance_accuracy(samples),
        by_language={k: mean(v) for k, v in sorted(right.items())},
        by_kind={k: mean(v) for k, v in sorted(kinds.items())},
    )
