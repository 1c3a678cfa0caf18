"""Write any frame in any language from its slot values, and read sentences back into frames and values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ayavision.errors import AyaVisionError
from ayavision.world.frames import FRAMES, SLOT_KINDS
from ayavision.world.lexicon import PLACEHOLDER, Lexicon, load_lexicon, placeholders, variants_of

# Characters that end a sentence in the 23 languages (Greek writes its question mark as ';').
TERMINATORS = ".?!;。？！؟।"


class RenderError(AyaVisionError, ValueError):
    """A frame asked for with slot values that are missing or not in the world's vocabulary."""


def capitalise(text: str, language: str) -> str:
    """Upper-case the first letter (Turkish dotted i kept apart); scripts without case are unchanged."""
    for index, char in enumerate(text):
        if char.isalpha():
            upper = "İ" if language == "tur_Latn" and char == "i" else char.upper()
            return text[:index] + (upper if len(upper) == 1 else char) + text[index + 1 :]
        if char.isdigit():
            return text
    return text


def _value_text(lexicon: Lexicon, slot: str, form: str, value: Any) -> str:
    kind = SLOT_KINDS[slot]
    try:
        if kind == "number":
            return str(int(value))
        if kind == "text":
            return str(value)
        if kind == "shape_list":
            names = [lexicon.word("shape", key) for key in value]
            if len(names) < 2:
                return "".join(names)
            return lexicon.list_sep.join(names[:-1]) + lexicon.last_sep + names[-1]
        return lexicon.word(kind, value, form)
    except (KeyError, TypeError, ValueError):
        raise RenderError(f"slot {{{slot}}} ({kind}): {value!r} is not a value the world knows") from None


def pick_template(lexicon: Lexicon, frame_id: str, slots: Mapping[str, Any], variant: int = 0) -> str:
    template = lexicon.frames[frame_id]
    if isinstance(template, dict):
        n = int(slots.get("n", -1))
        key = {0: "zero", 1: "one"}.get(n, "other")
        return template.get(key, template["other"])
    options = variants_of(template)
    return options[variant % len(options)]


def render(frame_id: str, slots: Mapping[str, Any], language: str, variant: int = 0) -> str:
    """The sentence of a frame in a language, e.g. ``render("colour_of", {"a": "star", "c": "red"}, "fr")``."""
    if frame_id not in FRAMES:
        raise RenderError(f"unknown frame {frame_id!r}")
    missing = set(FRAMES[frame_id].slots) - set(slots)
    if missing:
        raise RenderError(f"frame {frame_id!r} needs slot(s) {sorted(missing)}")
    lexicon = load_lexicon(language)
    template = pick_template(lexicon, frame_id, slots, variant)

    def fill(match: re.Match[str]) -> str:
        return _value_text(lexicon, match.group(1), match.group(2) or "name", slots[match.group(1)])

    return capitalise(PLACEHOLDER.sub(fill, template), lexicon.language)


def variant_count(frame_id: str, language: str) -> int:
    template = load_lexicon(language).frames[frame_id]
    return len(template) if isinstance(template, list) else 1


def short_answer(kind: str, value: Any, language: str) -> str:
    """A question's short answer: the lexicon's word or phrase as written in sentences (VQAv2-style, not
    capitalised, so it is the same token as in a description), a number, or the text read off the image."""
    lexicon = load_lexicon(language)
    if kind == "number":
        return str(int(value))
    if kind == "text":
        return str(value)
    if kind == "yesno":
        return lexicon.yes if value else lexicon.no
    return lexicon.word(kind, value)


@dataclass(frozen=True)
class Parsed:
    """A sentence read back: its frame and slot values (``None`` frame: text no frame matches)."""

    frame: str | None
    slots: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    variant: int = 0


@dataclass(frozen=True)
class _Pattern:
    frame: str
    variant: int
    regex: re.Pattern[str]
    groups: tuple[tuple[str, str], ...]  # (slot, form) per capture group
    zero: bool  # a count variant that stands for n = 0


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def _slot_pattern(lexicon: Lexicon, slot: str, form: str) -> str:
    kind = SLOT_KINDS[slot]
    if kind == "number":
        return r"(\d+)"
    if kind in ("text", "shape_list"):
        return r"(.+?)"
    return "(" + _alternation(list(lexicon.words(kind, form).values())) + ")"


def _literal(text: str) -> str:
    # Spaces in a template match any run of white space: a line break or a double space reads the same.
    return r"\s+".join(re.escape(part) for part in text.split(" "))


@cache
def _patterns(language: str) -> tuple[_Pattern, ...]:
    lexicon = load_lexicon(language)
    out = []
    for frame_id, template in lexicon.frames.items():
        zero_text = template.get("zero") if isinstance(template, dict) else None
        for variant, text in enumerate(variants_of(template)):
            regex, last = "", 0
            for match in PLACEHOLDER.finditer(text):
                regex += _literal(text[last : match.start()])
                regex += _slot_pattern(lexicon, match.group(1), match.group(2) or "name")
                last = match.end()
            regex += _literal(text[last:])
            groups = tuple(placeholders(text))
            compiled = re.compile(regex, re.IGNORECASE)
            out.append(_Pattern(frame_id, variant, compiled, groups, text == zero_text))
    return tuple(out)


@cache
def _reverse(language: str, kind: str, form: str) -> dict[str, str]:
    return {word.casefold(): key for key, word in load_lexicon(language).words(kind, form).items()}


def _decode(language: str, pattern: _Pattern, match: re.Match[str]) -> dict[str, Any] | None:
    lexicon = load_lexicon(language)
    slots: dict[str, Any] = {"n": 0} if pattern.zero else {}
    for (slot, form), raw in zip(pattern.groups, match.groups(), strict=True):
        kind = SLOT_KINDS[slot]
        if kind == "number":
            value: Any = int(raw)
        elif kind == "text":
            value = raw
        elif kind == "shape_list":
            value = _split_list(lexicon, raw)
            if value is None:
                return None
        else:
            value = _reverse(language, kind, form).get(raw.casefold())
            if value is None:
                return None
        if slot in slots and slots[slot] != value:
            return None  # a slot written twice must say the same thing both times
        slots[slot] = value
    return slots


def _split_list(lexicon: Lexicon, raw: str) -> list[str] | None:
    reverse = {word.casefold(): key for key, word in lexicon.words("shape").items()}
    head, sep, last = raw.rpartition(lexicon.last_sep)
    items = ([*head.split(lexicon.list_sep), last] if sep else raw.split(lexicon.list_sep)) if raw else []
    keys = [reverse.get(item.strip().casefold()) for item in items]
    return None if not keys or None in keys else keys  # type: ignore[return-value]


def _ends_cleanly(text: str, end: int) -> bool:
    return end >= len(text) or text[end].isspace() or text[end - 1] in TERMINATORS


def _next_boundary(text: str, start: int) -> int:
    for index in range(start, len(text)):
        if text[index] == "\n" or (text[index] in TERMINATORS and _ends_cleanly(text, index + 1)):
            return index + 1
    return len(text)


def parse(text: str, language: str) -> list[Parsed]:
    """Read a text sentence by sentence; a stretch no frame matches comes back with ``frame=None``."""
    patterns = _patterns(load_lexicon(language).language)
    out: list[Parsed] = []
    index = 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        best: tuple[int, Parsed] | None = None
        for pattern in patterns:
            match = pattern.regex.match(text, index)
            if match is None or not _ends_cleanly(text, match.end()):
                continue
            slots = _decode(language, pattern, match)
            if slots is not None and (best is None or match.end() > best[0]):
                best = (match.end(), Parsed(pattern.frame, slots, match.group(0), pattern.variant))
        if best is None:
            end = _next_boundary(text, index)
            out.append(Parsed(None, {}, text[index:end].strip()))
            index = end
        else:
            out.append(best[1])
            index = best[0]
    return out


def parse_one(text: str, language: str) -> Parsed | None:
    """The one frame a whole text is, or None."""
    pieces = parse(text.strip(), language)
    return pieces[0] if len(pieces) == 1 and pieces[0].frame is not None else None
