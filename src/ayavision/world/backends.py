"""Demo backends for the shapes world, registered by name: a scene teacher, translators and an oracle judge.

They see only ``ChatRequest``s, like any backend. Shapes-world images carry their scene graph in a PNG text
chunk (``ayavision.world.render``): that is how these backends "see" — a perfect perception. They recognise
which step is asking from markers in the built-in prompts (``ayavision.world.prompts``).

- ``world-teacher``: recaptions with rich, accurate English (or the instruction's language) descriptions in
  ``<answer>`` tags; ``hallucination_rate`` of items get one wrong colour or count (which items is fixed by
  the seed: ``ayavision.world.teacher.corrupts``). Asked a plain question, it answers it (an oracle answerer;
  ``answer_noise`` makes a weaker one).
- ``world-translator``: a word-by-word gloss into the target language ("translationese"); ``mode: natural``
  gives the natural sentence instead (a perfect translator, for comparison).
- ``world-rephraser``: the natural sentence of each source sentence, in ``<translation>`` tags.
- ``world-judge``: the filter's YES/NO check of a recaption against the image, and the pairwise judge's
  verdict: the correct answer wins; both right or both wrong is a tie.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from pydantic import Field, ValidationError

from ayavision.backends.base import Backend, BackendError, ChatRequest, ChatResponse, register_backend
from ayavision.errors import ConfigError
from ayavision.utils.config import Strict
from ayavision.world.grammar import short_answer
from ayavision.world.oracle import grade, read_text, scene_answer, verdict
from ayavision.world.prompts import (
    filter_parts,
    pairwise_parts,
    recaption_parts,
    rephrase_parts,
    split_chat,
    translate_target,
)
from ayavision.world.render import read_scene
from ayavision.world.scene import Scene, seeded_rng
from ayavision.world.tasks import render_statements
from ayavision.world.teacher import check_text, corrupts, inject, rich_statements, unit_draw
from ayavision.world.translate import literal_translate, natural_translate
from ayavision.world.vocab import COLOURS, POSITIONS, SHAPES, SIZES

WORLD_VERSION = 1  # bump when what the backends write changes: it is part of every cache key


class _Options(Strict):
    concurrency: int = Field(32, ge=1, description="requests callers keep in flight (answers are instant)")


class TeacherOptions(_Options):
    seed: int = 0
    hallucination_rate: float = Field(0.0, ge=0, le=1, description="share of recaptions with one wrong fact")
    answer_noise: float = Field(0.0, ge=0, le=1, description="share of wrong short answers when answering")


class TranslatorOptions(_Options):
    mode: str = Field("literal", pattern="^(literal|natural)$")


class RephraserOptions(_Options):
    pass


class JudgeOptions(_Options):
    seed: int = 0
    miss_rate: float = Field(0.0, ge=0, le=1, description="share of corrupted recaptions the filter judge passes")
    false_alarm_rate: float = Field(0.0, ge=0, le=1, description="share of clean recaptions it rejects")


class WorldBackend(Backend):
    """Shared plumbing: typed options, identity, instant answers."""

    kind: ClassVar[str]
    options_type: ClassVar[type[_Options]]

    def __init__(self, **options: Any) -> None:
        try:
            self.options = self.options_type(**options)
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '?'}: {e['msg']}" for e in err.errors())
            known = ", ".join(self.options_type.model_fields)
            raise ConfigError(f"{self.kind}: bad option(s): {problems} (options: {known})") from None
        self.name = self.kind

    def identity(self) -> dict[str, Any]:
        return {
            "backend": self.kind,
            "world_version": WORLD_VERSION,
            **self.options.model_dump(exclude={"concurrency"}),
        }

    @property
    def preferred_concurrency(self) -> int:
        return self.options.concurrency

    async def chat(self, request: ChatRequest) -> ChatResponse:
        text = self.answer(request)
        if len(text.split()) > request.max_tokens:
            # Honour the budget like a model would: cut, and say so.
            return ChatResponse(" ".join(text.split()[: request.max_tokens]), "length", None, request.max_tokens)
        return ChatResponse(text, "stop", None, len(text.split()))

    def answer(self, request: ChatRequest) -> str:  # pragma: no cover - every backend overrides it
        raise NotImplementedError


def _scenes(images: list[Any], kind: str) -> list[Scene]:
    scenes = [read_scene(image) for image in images]
    if any(scene is None for scene in scenes):
        raise BackendError(
            f"{kind} reads only images made by ayavision.world (their PNG carries the scene graph); "
            f"got {sum(s is None for s in scenes)} other image(s)"
        )
    return scenes  # type: ignore[return-value]


class WorldTeacher(WorldBackend):
    kind = "world-teacher"
    options_type = TeacherOptions
    options: TeacherOptions

    def answer(self, request: ChatRequest) -> str:
        chat = split_chat(request.messages)
        scenes = _scenes(chat.images, self.kind)
        parts = recaption_parts(chat.user)
        if parts is not None:
            if not scenes:
                raise BackendError(f"{self.kind}: a recaption request without an image")
            return f"<answer>{self.recaption(parts[0], scenes, request.seed)}</answer>"
        found = scene_answer(chat.user, scenes)
        if found is None:
            raise BackendError(f"{self.kind}: no shapes-world question in the request: {chat.user[:80]!r}")
        language, gold, kind = found
        if self.options.answer_noise and unit_draw(self.options.seed, "noise", chat.user) < self.options.answer_noise:
            gold = _wrong(kind, gold, seeded_rng(self.options.seed, "wrong", chat.user))
        return short_answer(kind, gold, language)

    def recaption(self, instruction: str, scenes: list[Scene], attempt_seed: int | None = None) -> str:
        ids = [scene.id for scene in scenes]
        read = read_text(instruction)
        asked = read.question() if read else None
        language = read.language if read else "eng_Latn"
        # Wording varies with the item (and with a regeneration's seed); whether a fact is wrong does not.
        rng = seeded_rng(self.options.seed, "words", *ids, instruction, attempt_seed)
        statements = rich_statements(asked.frame if asked else None, asked.slots if asked else {}, scenes, rng)
        if corrupts(self.options.seed, self.options.hallucination_rate, ids, instruction):
            statements, _ = inject(statements, seeded_rng(self.options.seed, "inject", *ids, instruction))
        return render_statements(statements, language, rng)


def _wrong(kind: str, gold: Any, rng: random.Random) -> Any:
    if kind == "number":
        return gold + 1 if gold == 0 or rng.random() < 0.5 else gold - 1
    if kind == "yesno":
        return not gold
    pool = {"colour": COLOURS, "size": SIZES, "position": POSITIONS, "shape": SHAPES}.get(kind)
    return rng.choice([v for v in pool if v != gold]) if pool else gold


class WorldTranslator(WorldBackend):
    kind = "world-translator"
    options_type = TranslatorOptions
    options: TranslatorOptions

    def answer(self, request: ChatRequest) -> str:
        chat = split_chat(request.messages)
        target = translate_target(chat.system, request.hints)
        if target is None:
            raise BackendError(
                f"{self.kind}: cannot tell the target language (no hints.tgt_lang, no 'into <Language>')"
            )
        if self.options.mode == "natural":
            return natural_translate(chat.user, target)[0]
        return literal_translate(chat.user, target)


class WorldRephraser(WorldBackend):
    kind = "world-rephraser"
    options_type = RephraserOptions

    def answer(self, request: ChatRequest) -> str:
        parts = rephrase_parts(split_chat(request.messages).user, request.hints)
        if parts is None:
            raise BackendError(
                f"{self.kind}: not a rephrase prompt (no 'Source (...)' and 'Machine translation (...)')"
            )
        source_language, target, source, _ = parts
        return f"<translation>{natural_translate(source, target, source_language)[0]}</translation>"


class WorldJudge(WorldBackend):
    kind = "world-judge"
    options_type = JudgeOptions
    options: JudgeOptions

    def answer(self, request: ChatRequest) -> str:
        chat = split_chat(request.messages)
        pairwise = pairwise_parts(chat.system, chat.user)
        if pairwise is not None:
            return self.pairwise(pairwise, _scenes(chat.images, self.kind))
        checked = filter_parts(chat.user)
        if checked is not None:
            return self.check_recaption(checked[2], _scenes(chat.images, self.kind))
        raise BackendError(f"{self.kind}: neither a filter (YES/NO) nor a pairwise judge prompt")

    def check_recaption(self, candidate: str, scenes: list[Scene]) -> str:
        read = read_text(candidate)
        true, false, _ = check_text(read.pieces, scenes) if read else (0, 0, 0)
        clean = read is not None and false == 0 and true > 0
        draw = unit_draw(self.options.seed, "judge", candidate)
        if clean and draw < self.options.false_alarm_rate:
            clean = False
        elif not clean and draw < self.options.miss_rate:
            clean = True
        return "YES" if clean else "NO"

    def pairwise(self, parts: dict[str, str | None], scenes: list[Scene]) -> str:
        question, reference = parts["request"] or "", parts["reference_answer"]
        a = grade(parts["answer_A"] or "", question, reference, scenes)
        b = grade(parts["answer_B"] or "", question, reference, scenes)
        return f"Answer A: {a.why}. Answer B: {b.why}.\n[[{verdict(a, b)}]]"


for _cls in (WorldTeacher, WorldTranslator, WorldRephraser, WorldJudge):
    register_backend(_cls.kind)(_cls)
