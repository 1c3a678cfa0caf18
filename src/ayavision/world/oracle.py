"""What the demo backends know for certain: the question asked, in any language, and whether an answer is right."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ayavision.evaluate.normalize import first_sentence, normalize_answer
from ayavision.languages import LANGUAGES
from ayavision.world.frames import FRAMES
from ayavision.world.grammar import Parsed, parse, short_answer
from ayavision.world.lexicon import load_lexicon
from ayavision.world.scene import Obj, Scene
from ayavision.world.tasks import solve
from ayavision.world.teacher import check_text

_NUMBER = re.compile(r"\d+")
# English first: the originals and the teacher's texts are English; then the registry's order.
_ORDER = ["eng_Latn", *(lang.nllb for lang in LANGUAGES if lang.nllb != "eng_Latn")]


@dataclass(frozen=True)
class ReadText:
    language: str
    pieces: list[Parsed]

    def question(self) -> Parsed | None:
        return next((p for p in reversed(self.pieces) if p.frame and FRAMES[p.frame].is_question), None)

    @property
    def parsed(self) -> int:
        return sum(p.frame is not None for p in self.pieces)


def read_text(text: str, languages: list[str] | None = None) -> ReadText | None:
    """The text read in the language whose frames cover most of it (None if no frame matches in any)."""
    best: ReadText | None = None
    for language in languages or _ORDER:
        read = ReadText(language, parse(text, language))
        if read.parsed and (best is None or read.parsed > best.parsed):
            best = read
            if all(p.frame is not None for p in read.pieces):
                break  # every sentence read: no other language can do better
    return best


def scene_from_text(pieces: list[Parsed]) -> Scene | None:
    """The scene a written description states (the text task): objects from "object" sentences, or from
    colour, size and position facts about each shape; nothing else (no background)."""
    facts: dict[str, dict[str, str]] = {}
    for piece in pieces:
        if piece.frame == "object":
            facts[piece.slots["a"]] = {
                "colour": piece.slots["c"],
                "size": piece.slots["s"],
                "position": piece.slots["p"],
            }
        elif piece.frame in ("colour_of", "size_of", "where_is"):
            attribute, slot = {"colour_of": ("colour", "c"), "size_of": ("size", "s"), "where_is": ("position", "p")}[
                piece.frame
            ]
            facts.setdefault(piece.slots["a"], {})[attribute] = piece.slots[slot]
    objects = [
        Obj(shape=shape, colour=known["colour"], size=known["size"], position=known["position"])  # type: ignore[arg-type]
        for shape, known in facts.items()
        if {"colour", "size", "position"} <= set(known)
    ]
    if not objects:
        return None
    return Scene(id="text", width=300, height=300, background="white", pattern="plain", objects=tuple(objects))


def answer_kind_values(kind: str, language: str) -> list[str]:
    """Every short answer of a kind in a language, normalised: the words an answer could mean."""
    lexicon = load_lexicon(language)
    if kind in ("colour", "size", "position", "shape"):
        return [normalize_answer(w) for w in lexicon.words(kind).values()]
    if kind == "yesno":
        return [normalize_answer(lexicon.yes), normalize_answer(lexicon.no)]
    return []


def matches(answer: str, gold: str, kind: str | None = None, language: str | None = None) -> bool:
    """Does an answer say the gold short answer? Exactly, or as the only value of its kind it mentions."""
    said, want = normalize_answer(answer), normalize_answer(gold)
    if not want:
        return False
    if said == want:
        return True
    if kind == "number":
        # The count first or last ("3", "shapes: 3"), or the only number the answer states ("There are 3 shapes",
        # "图片中的图形数量5": normalising glues digits to Han and kana, so words cannot be split there).
        return said.split()[:1] == [want] or said.endswith(" " + want) or set(_NUMBER.findall(said)) == {want}
    if want not in said or kind is None or language is None:
        return False
    rivals = [v for v in answer_kind_values(kind, language) if v and v != want and v not in want]
    return not any(rival in said for rival in rivals)


# The statement that answers a question about one object or a pair, and the slot holding the answer: "Colour of
# the star: red." answers "What colour is the star?", "The square is above the star." answers "Which is higher?".
_ANSWERED_BY: dict[str, tuple[tuple[str, str], ...]] = {
    "ask_colour": (("colour_of", "c"), ("object", "c")),
    "ask_size": (("size_of", "s"), ("object", "s")),
    "ask_where": (("where_is", "p"), ("object", "p")),
    "ask_shape_by_colour": (("shape_has_colour", "a"),),
    "ask_left": (("left_of", "a"),),
    "ask_higher": (("above", "a"),),
}


def states_answer(sentence: str, gold: str, asked: Parsed, language: str) -> bool:
    """Does the sentence, read as a statement in the question's language, answer the asked question with gold?

    Needed where naming one value cannot do: a right answer to "Which is higher: the star or the square?" names
    both shapes ("The square is above the star."), and the Chinese and Japanese words for "size" (大小, 大きさ)
    hold the characters of "large" and "small". The statement must be about the asked object(s).
    """
    kind = FRAMES[asked.frame].answer if asked.frame else None
    answered_by = _ANSWERED_BY.get(asked.frame or "", ())
    if kind is None or not answered_by:
        return False
    want = normalize_answer(gold)
    asked_about = set(asked.slots.values())  # one shape or colour; or the pair compared, in either order
    for piece in parse(sentence, language):
        for frame, slot in answered_by:
            if piece.frame == frame and {piece.slots[name] for name in asked.slots} == asked_about:
                return normalize_answer(short_answer(kind, piece.slots[slot], language)) == want
    return False


def says_answer(answer: str, gold: str, asked: Parsed | None, language: str | None) -> bool:
    """The judge's rule for a short-answer question: ``matches``, or a first sentence that states the answer."""
    kind = FRAMES[asked.frame].answer if asked is not None and asked.frame else None
    if matches(answer, gold, kind, language):
        return True
    return asked is not None and language is not None and states_answer(first_sentence(answer), gold, asked, language)


def answers_right(prediction: str, gold: str, question: str, language: str | None = None) -> bool:
    """Does the prediction answer the question with the gold short answer — in full, or in its first sentence?

    The first sentence counts on its own because a model tuned for long answers (a VLM after SFT) may add more
    after a right answer; what is scored is whether it answers right first, not its length. ``says_answer``
    decides (the judge's rule): the gold answer exactly, or as the only value of the asked kind that is
    mentioned, or a first sentence stating it about the asked object(s).
    """
    read = read_text(question, [language] if language else None)
    asked = read.question() if read else None
    language = language or (read.language if read else None)
    kind = FRAMES[asked.frame].answer if asked is not None and asked.frame else None
    # says_answer reads the first sentence as a statement itself: the first sentence alone needs the value rule only.
    return says_answer(prediction.strip(), gold, asked, language) or matches(
        first_sentence(prediction), gold, kind, language
    )


@dataclass(frozen=True)
class Grade:
    correct: bool
    detail: float = 0.0  # between correct answers: how many true claims (more is more helpful)
    why: str = ""


def grade(answer: str, question: str, reference: str | None, scenes: list[Scene]) -> Grade:
    """Is an answer to a world question right? Short answers by the reference (or the scene's true answer);
    free-form answers (captions, descriptions, differences) by checking every claim against the scene(s)."""
    read = read_text(question)
    asked = read.question() if read else None
    kind = FRAMES[asked.frame].answer if asked is not None and asked.frame else None
    language = read.language if read else None
    if kind not in ("caption", "description", "difference"):
        gold = reference
        if gold is None and asked is not None and kind is not None:
            found = scene_answer(question, scenes)
            gold = short_answer(kind, found[1], found[0]) if found else None
        # A long reference to a question no frame reads is a free-form one: fall through to the claims.
        if gold is not None and (kind is not None or len(gold.split()) <= 6):
            ok = says_answer(answer, gold, asked, language)
            return Grade(ok, 0.0, "matches the true answer" if ok else "disagrees with the true answer")
    if scenes:
        answered = read_text(answer)
        if answered is None:
            return Grade(False, 0.0, "no statement about the scene could be read")
        true, false, _ = check_text(answered.pieces, scenes)
        return Grade(false == 0 and true > 0, float(true), f"{true} true and {false} false claim(s)")
    if reference is not None:
        ok = normalize_answer(answer) == normalize_answer(reference)
        return Grade(ok, 0.0, "matches the reference" if ok else "differs from the reference")
    return Grade(False, 0.0, "neither a reference nor a scene to check against")


def verdict(a: Grade, b: Grade) -> str:
    """The 5-way label: the correct answer wins outright; both right or both wrong tie, unless one says more."""
    if a.correct and not b.correct:
        return "A>>B"
    if b.correct and not a.correct:
        return "B>>A"
    if a.correct and b.correct and abs(a.detail - b.detail) >= 2:
        return "A>B" if a.detail > b.detail else "B>A"
    return "A=B"


def scene_answer(text: str, scenes: list[Scene]) -> tuple[str, Any, str] | None:
    """(language, true answer, answer kind) of the question in ``text`` about the scene(s), or None."""
    read = read_text(text)
    asked = read.question() if read else None
    if read is None or asked is None or asked.frame is None:
        return None
    if not scenes:
        described = scene_from_text(read.pieces)
        scenes = [described] if described else []
    gold = solve(asked.frame, asked.slots, scenes)
    kind = FRAMES[asked.frame].answer
    return None if gold is None or kind is None else (read.language, gold, kind)
