"""Per-language lexicons (YAML under ``world/lexicon/``): words, inflected forms, sentence templates, glosses."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from ayavision.errors import AyaVisionError
from ayavision.languages import LANGUAGES, get_language
from ayavision.utils.config import FrozenStrict
from ayavision.utils.errors import format_validation_error
from ayavision.world.frames import COUNT_VARIANTS, FRAMES, SLOT_KINDS
from ayavision.world.vocab import COLOURS, PATTERNS, POSITIONS, SHAPES, SIZES

_PLACEHOLDER = re.compile(r"\{([a-z0-9]+)(?:\.([a-z_]+))?\}")

# A template: one string, variants (any may be written; the first is the canonical one), or variants
# chosen by the count in slot `n` (zero / one / other).
Template = str | list[str] | dict[str, str]


class LexiconError(AyaVisionError, ValueError):
    """A lexicon file that is missing, malformed or incomplete; the message names the file and the entry."""


class Lexicon(FrozenStrict):
    """Everything one language needs to write and read the world's sentences."""

    language: str
    direction: Literal["ltr", "rtl"]
    spaceless: bool = False  # words are not separated by spaces (Chinese, Japanese)
    list_sep: str = ", "
    list_last: str | None = None  # before the last item of a list; default: list_sep
    yes: str
    no: str
    shapes: dict[str, dict[str, str]]
    colours: dict[str, str]
    sizes: dict[str, str]
    positions: dict[str, str | dict[str, str]]
    patterns: dict[str, str]
    frames: dict[str, Template]
    gloss: dict[str, str] = Field(default_factory=dict)

    @field_validator("language")
    @classmethod
    def _known(cls, code: str) -> str:
        return get_language(code).nllb

    @model_validator(mode="after")
    def _complete(self) -> Lexicon:
        for name, have, want in (
            ("shapes", self.shapes, SHAPES),
            ("colours", self.colours, COLOURS),
            ("sizes", self.sizes, SIZES),
            ("positions", self.positions, POSITIONS),
            ("patterns", self.patterns, PATTERNS),
            ("frames", self.frames, tuple(FRAMES)),
        ):
            missing, extra = set(want) - set(have), set(have) - set(want)
            if missing or extra:
                raise ValueError(f"{name}: missing {sorted(missing)}, unknown {sorted(extra)}")
        forms = {key: set(entry) for key, entry in self.shapes.items()}
        first = forms[SHAPES[0]]
        for key, keys in forms.items():
            if keys != first or "name" not in keys:
                raise ValueError(
                    f"shapes.{key}: every shape needs the same forms, including 'name' (got {sorted(keys)})"
                )
        if get_language(self.language).direction != self.direction:
            raise ValueError(f"direction {self.direction} disagrees with the language registry")
        for frame_id, template in self.frames.items():
            self._check_template(frame_id, template)
        return self

    def _check_template(self, frame_id: str, template: Template) -> None:
        frame = FRAMES[frame_id]
        if isinstance(template, dict):
            unknown = set(template) - set(COUNT_VARIANTS)
            if unknown or "other" not in template:
                raise ValueError(
                    f"frames.{frame_id}: count variants are zero/one/other (with 'other'), got {sorted(template)}"
                )
        texts = variants_of(template)
        if not texts:
            raise ValueError(f"frames.{frame_id}: no template")
        for text in texts:
            used = set()
            for slot, form in _PLACEHOLDER.findall(text):
                if slot not in frame.slots:
                    raise ValueError(f"frames.{frame_id}: unknown slot {{{slot}}} (slots: {list(frame.slots)})")
                used.add(slot)
                if form and form not in self.forms_of(SLOT_KINDS[slot]):
                    raise ValueError(f"frames.{frame_id}: no form {form!r} for {SLOT_KINDS[slot]}s in this language")
            # A zero variant may leave out the number; every other slot must be written.
            allowed = {"n"} if isinstance(template, dict) and template.get("zero") == text else set()
            if set(frame.slots) - used - allowed:
                raise ValueError(f"frames.{frame_id}: {text!r} leaves out {sorted(set(frame.slots) - used)}")

    def forms_of(self, kind: str) -> set[str]:
        if kind == "shape":
            return set(self.shapes[SHAPES[0]])
        if kind == "position":
            entry = self.positions[POSITIONS[0]]
            return {"name"} | (set(entry) if isinstance(entry, dict) else set())
        return {"name"}

    def word(self, kind: str, key: str, form: str = "name") -> str:
        """The word for a vocabulary item, e.g. ``word("shape", "star", "gen")`` -> ``"de l'étoile"``."""
        if kind == "shape":
            return self.shapes[key][form]
        if kind == "position":
            entry = self.positions[key]
            return entry if isinstance(entry, str) else entry[form]
        table = {"colour": self.colours, "size": self.sizes, "pattern": self.patterns}[kind]
        return table[key]

    def words(self, kind: str, form: str = "name") -> dict[str, str]:
        """Every item of a kind as ``{key: word}``."""
        keys = {"shape": SHAPES, "colour": COLOURS, "size": SIZES, "position": POSITIONS, "pattern": PATTERNS}[kind]
        return {key: self.word(kind, key, form) for key in keys}

    @property
    def last_sep(self) -> str:
        return self.list_sep if self.list_last is None else self.list_last

    @property
    def word_sep(self) -> str:
        return "" if self.spaceless else " "


def variants_of(template: Template) -> list[str]:
    if isinstance(template, str):
        return [template]
    if isinstance(template, list):
        return list(template)
    return [template[key] for key in COUNT_VARIANTS if key in template]


def placeholders(text: str) -> list[tuple[str, str]]:
    """``(slot, form)`` of each ``{slot}`` / ``{slot.form}`` in a template, in order (form "name" by default)."""
    return [(slot, form or "name") for slot, form in _PLACEHOLDER.findall(text)]


PLACEHOLDER = _PLACEHOLDER


@cache
def load_lexicon(code: str) -> Lexicon:
    """The lexicon of a language (NLLB or ISO code), read and checked once per process."""
    lang = get_language(code)
    path = resources.files("ayavision.world") / "lexicon" / f"{lang.iso}.yaml"
    if not path.is_file():
        raise LexiconError(f"no lexicon for {lang.english_name} ({lang.nllb}): expected world/lexicon/{lang.iso}.yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise LexiconError(f"lexicon/{lang.iso}.yaml: not valid YAML: {err}") from None
    try:
        lexicon = Lexicon.model_validate(raw)
    except ValidationError as err:
        raise LexiconError(f"lexicon/{lang.iso}.yaml: {format_validation_error(err)}") from None
    if lexicon.language != lang.nllb:
        raise LexiconError(f"lexicon/{lang.iso}.yaml declares language {lexicon.language}, expected {lang.nllb}")
    return lexicon


def all_lexicons() -> dict[str, Lexicon]:
    """Every language's lexicon by NLLB code, in registry order."""
    return {lang.nllb: load_lexicon(lang.nllb) for lang in LANGUAGES}
