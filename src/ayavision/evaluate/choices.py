"""Multiple-choice prompts, and reading the chosen option back out of a free-text answer in any language.

The prompt labels the options with Latin capitals (``A.`` ... ``J.``) whatever the language, so a reply in
Arabic, Hindi or Chinese still names its choice with one of those letters: ``答案是B``, ``الإجابة: (C)``,
``Ответ: В`` (a Cyrillic look-alike of B). ``extract_choice`` tries, in order:

1. the whole reply is one label (``B``, ``(B)``, ``**B.**``, full-width ``Ｂ``);
2. the reply starts with a label followed by a separator (``B. The dog``, ``(B) because ...``);
3. marked labels: in brackets, or after a colon of any script (``Answer: B``, ``答案：B``) — the last one wins,
   since a reasoning reply ends with its conclusion;
4. bare capital labels standing alone (not inside a word of the same script): used only if they all agree;
   ``A``, ``I``, ``O``... followed by a lower-case word is an article or a pronoun, not a label;
5. the text of exactly one option appears in the reply (after ``normalize_answer``; an option contained in a
   longer matching option yields to it).

Nothing found returns ``None``: the caller counts it as unparsed. It is never turned into a guess here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ayavision.evaluate.normalize import normalize_answer

LETTERS = "ABCDEFGHIJ"
MAX_OPTIONS = len(LETTERS)

# Capital letters of other scripts that look like Latin ones: a model writing Cyrillic or Greek often types them.
_HOMOGLYPHS = {
    "А": "A",
    "В": "B",
    "С": "C",
    "Е": "E",
    "Н": "H",  # Cyrillic
    "Α": "A",
    "Β": "B",
    "Ε": "E",
    "Η": "H",
    "Ι": "I",
    "Ζ": "Z",  # Greek
}
_OPEN_MARKS = "([{<【「『〔"
_CLOSE_MARKS = ")]}>】」』〕"
_COLONS = ":："
_DECORATION = "*_`~ \t\r\n"
_LABEL_SEPARATORS = ".)]:：、,，。-—"

INSTRUCTION = "Answer with the letter of the correct option."


def option_letters(count: int) -> str:
    if not 1 <= count <= MAX_OPTIONS:
        raise ValueError(f"a multiple-choice item needs 1 to {MAX_OPTIONS} options, got {count}")
    return LETTERS[:count]


def format_choice_prompt(question: str, options: Sequence[str], instruction: str = INSTRUCTION) -> str:
    """The question, the lettered options one per line, and the instruction to answer with a letter."""
    letters = option_letters(len(options))
    lines = [f"{letter}. {str(option).strip()}" for letter, option in zip(letters, options, strict=True)]
    return "\n".join([question.strip(), *lines, instruction])


@dataclass(frozen=True)
class Choice:
    """The option found (0-based ``index``) and the rule that found it (``how``)."""

    index: int
    how: str


def _script(char: str) -> str:
    try:
        return unicodedata.name(char).split(" ")[0]
    except ValueError:
        return ""


def _label_at(text: str, i: int, letters: str) -> str | None:
    """The Latin label the character at ``i`` stands for, if it stands alone (not inside a word of its script)."""
    char = text[i]
    latin = _HOMOGLYPHS.get(char, char)
    if latin not in letters:
        return None
    script = _script(char)
    for j in (i - 1, i + 1):
        if 0 <= j < len(text):
            neighbour = text[j]
            if neighbour.isdigit() or (neighbour.isalpha() and _script(neighbour) == script):
                return None
    return latin


def _prev_nonspace(text: str, i: int) -> str:
    j = i - 1
    while j >= 0 and text[j] in _DECORATION:
        j -= 1
    return text[j] if j >= 0 else ""


def _next_nonspace(text: str, i: int) -> str:
    j = i + 1
    while j < len(text) and text[j] in _DECORATION:
        j += 1
    return text[j] if j < len(text) else ""


# Capitals that are words on their own in the Latin-script languages (English "A", "I"; Portuguese "A", "O",
# "E"; Spanish "Y"): followed by a lower-case word, they start a sentence rather than name an option.
_ONE_LETTER_WORDS = "AEIOY"


def _is_word_not_label(text: str, i: int) -> bool:
    """``A cat``, ``I think``, ``O gato``: a one-letter word followed by a lower-case word is not a label."""
    rest = text[i + 1 : i + 3]
    return text[i] in _ONE_LETTER_WORDS and len(rest) == 2 and rest[0] == " " and rest[1].islower()


def _scan_labels(text: str, letters: str) -> tuple[list[str], list[str]]:
    """(marked labels, bare labels) in reading order."""
    marked: list[str] = []
    bare: list[str] = []
    for i in range(len(text)):
        before, after = _prev_nonspace(text, i), _next_nonspace(text, i)
        if text[i].islower() and text[i].upper() in letters:
            # A lower-case label counts only when bracketed on both sides: "(b)"; a bare "a" is a word.
            if before in _OPEN_MARKS and after in _CLOSE_MARKS and before and after:
                marked.append(text[i].upper())
            continue
        label = _label_at(text, i, letters)
        if label is None:
            continue
        if (before and before in _OPEN_MARKS) or (after and after in _CLOSE_MARKS) or (before and before in _COLONS):
            marked.append(label)
        elif not _is_word_not_label(text, i):
            bare.append(label)
    return marked, bare


def _leading_label(text: str, letters: str) -> str | None:
    stripped = text.lstrip(_DECORATION + _OPEN_MARKS)
    if not stripped:
        return None
    offset = len(text) - len(stripped)
    label = _label_at(text, offset, letters)
    if label is None:
        return None
    after = stripped[1:].lstrip("*_`~")
    if not after.strip(_DECORATION + _CLOSE_MARKS + _LABEL_SEPARATORS):
        return label  # the whole reply is the label
    if after[0] in _LABEL_SEPARATORS + _CLOSE_MARKS:
        return label
    return None


def _match_option_text(text: str, options: Sequence[str]) -> int | None:
    reply = normalize_answer(text)
    found = {}
    for index, option in enumerate(options):
        norm = normalize_answer(str(option))
        if norm and norm in reply:
            found[index] = norm
    # "New York" inside "New York City": the longer matching option is the one meant.
    kept = [i for i, norm in found.items() if not any(norm != other and norm in other for other in found.values())]
    return kept[0] if len(kept) == 1 else None


def extract_choice(text: str, options: Sequence[str]) -> Choice | None:
    """The option a free-text reply chose, or ``None`` when it cannot be told (see the module doc)."""
    letters = option_letters(len(options))
    norm = unicodedata.normalize("NFKC", text).strip()
    if not norm:
        return None
    lead = _leading_label(norm, letters)
    if lead is not None:
        return Choice(letters.index(lead), "leading-label")
    marked, bare = _scan_labels(norm, letters)
    if marked:
        return Choice(letters.index(marked[-1]), "marked-label")
    if bare and len(set(bare)) == 1:
        return Choice(letters.index(bare[0]), "bare-label")
    index = _match_option_text(norm, options)
    if index is not None:
        return Choice(index, "option-text")
    return None
