"""Answer normalisation that treats all 23 languages alike: no English-only rules and no word splitting.

``normalize_answer`` is what the academic metrics compare. In order, it:

1. applies Unicode NFKC (full-width Latin and digits become ASCII, ligatures and compatibility forms fold);
2. case-folds (``ß`` -> ``ss``, final sigma -> sigma) and undoes the dotted ``İ`` that case folding leaves as
   ``i`` + combining dot, so Turkish ``İstanbul`` matches ``istanbul``;
3. drops optional vowel marks that writers use inconsistently: Arabic tashkil and tatweel, Hebrew niqqud
   (Vietnamese tones and Devanagari vowel signs are letters, not decoration, and are kept);
4. turns every punctuation character of every script (Unicode category ``P*``: ``، ؟ । 。 「 」 « » ¿`` ...)
   into a space, and the zero-width non-joiner (Persian half-space) into a space;
5. maps the decimal digits of every script (Arabic-Indic, Persian, Devanagari, full-width ...) to ASCII;
6. collapses white space, and removes it next to Han and kana characters: Chinese and Japanese do not
   separate words with spaces, so ``北 京`` and ``北京`` must compare equal.

Symbols (``$``, ``°``, ``+``) and the few punctuation marks that change an answer's meaning (``%`` and the
Arabic percent sign, ``‰``, ``#``, ``&``, ``@``) are kept.
"""

from __future__ import annotations

import re
import unicodedata

# Arabic harakat, tanwin, shadda, sukun, superscript alef; Quranic annotation marks; tatweel (a stretching glyph).
_ARABIC_OPTIONAL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
# Hebrew cantillation marks and niqqud points (U+05BE maqaf and U+05C0/C3/C6 are punctuation: handled below).
_HEBREW_POINTS = re.compile("[\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]")
_ZWNJ = "\u200c"

# Scripts written without spaces between words (among the 23 languages: Chinese and Japanese).
_SPACELESS = (
    "\u2e80-\u2fdf"  # CJK radicals
    "\u3005-\u3007"  # iteration mark, closing mark, ideographic zero
    "\u3040-\u309f"  # hiragana
    "\u30a0-\u30ff"  # katakana (with the prolonged sound mark)
    "\u31f0-\u31ff"  # katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
_SPACE_BEFORE_SPACELESS = re.compile(f" (?=[{_SPACELESS}])")
_SPACE_AFTER_SPACELESS = re.compile(f"(?<=[{_SPACELESS}]) ")
_WHITESPACE = re.compile(r"\s+")


def is_spaceless_char(char: str) -> bool:
    """True for Han and kana characters: scripts whose words are not separated by spaces."""
    return bool(re.fullmatch(f"[{_SPACELESS}]", char))


# Punctuation by Unicode's classification that changes what an answer means: kept ("50%" is not "50").
_MEANINGFUL = {"%": "%", "٪": "%", "‰": "‰", "#": "#", "&": "&", "@": "@"}


def _map_char(char: str) -> str:
    category = unicodedata.category(char)
    if char in _MEANINGFUL:
        return _MEANINGFUL[char]
    if category.startswith("P"):
        return " "
    if category == "Nd":
        return str(unicodedata.decimal(char))
    if category == "Cf":
        # Format characters (bidi marks, zero-width joiner, BOM) carry no content, except the Persian
        # half-space, which separates the parts of a word that others write with a full space.
        return " " if char == _ZWNJ else ""
    if category.startswith("Z") or char in "\t\n\r\f\v":
        return " "
    return char


def normalize_answer(text: str) -> str:
    """Normalise an answer or a prediction for comparison in any of the 23 languages (see the module doc)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    # casefold() turns "İ" into "i" + COMBINING DOT ABOVE; Turkish readers see both as the same letter.
    text = text.replace("i\u0307", "i")
    text = _ARABIC_OPTIONAL.sub("", text)
    text = _HEBREW_POINTS.sub("", text)
    text = "".join(_map_char(char) for char in text)
    text = _WHITESPACE.sub(" ", text).strip()
    text = _SPACE_BEFORE_SPACELESS.sub("", text)
    return _SPACE_AFTER_SPACELESS.sub("", text)


def ascii_digits(text: str) -> str:
    """Map the decimal digits of every script to ASCII and leave everything else alone."""
    return "".join(str(unicodedata.decimal(c)) if unicodedata.category(c) == "Nd" else c for c in text)


# A sentence ends at . ? ! ؟ । before white space, or at a full-width 。？！ (no space follows in CJK).
_FIRST_SENTENCE = re.compile(r"^.*?(?:[.?!؟।](?=\s|$)|[。？！])|^[^\n]*", re.DOTALL)


def first_sentence(text: str) -> str:
    """The first sentence of an answer (or its first line): what a model tuned for long answers says first."""
    text = text.strip()
    found = _FIRST_SENTENCE.match(text)
    head = found.group(0) if found else text
    return head.split("\n")[0].strip()
