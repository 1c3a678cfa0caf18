"""The demo's translators: a word-by-word gloss ("translationese") and the natural sentence, plus chrF."""

from __future__ import annotations

import re
from functools import cache

from sacrebleu.metrics import CHRF

from ayavision.world.grammar import capitalise, parse, render
from ayavision.world.lexicon import load_lexicon
from ayavision.world.vocab import COLOURS, PATTERNS, SHAPES, SIZES

ENGLISH = "eng_Latn"
# A quoted stretch (kept verbatim: it is text read off the image), a word, a number, or one other character.
_TOKEN = re.compile(r"\"[^\"\n]*\"|[A-Za-z]+(?:-[A-Za-z]+)*|\d+|\S")
_CLOSING = set('.,:;!?)]}»”’"')


@cache
def glossary(language: str) -> dict[str, str]:
    """English word -> target word: the lexicon's own words plus the language's function-word glosses."""
    english, target = load_lexicon(ENGLISH), load_lexicon(language)
    table: dict[str, str] = {}
    plural_form = next((f for f in ("pl", "gen_pl", "de_pl", "obl_pl") if f in target.forms_of("shape")), "name")
    for shape in SHAPES:
        table[english.word("shape", shape)] = target.word("shape", shape)
        table[english.word("shape", shape, "pl")] = target.word("shape", shape, plural_form)
    for kind, keys in (("colour", COLOURS), ("size", SIZES), ("pattern", PATTERNS)):
        for key in keys:
            table[english.word(kind, key)] = target.word(kind, key)
    table.update({word.casefold(): gloss for word, gloss in target.gloss.items()})
    return table


def literal_translate(text: str, language: str) -> str:
    """English text glossed word by word into ``language``, in English word order: translationese.

    Words the glossary lacks stay English, as a weak MT system leaves them; quoted text stays as it is.
    """
    if load_lexicon(language).language == ENGLISH:
        return text
    table = glossary(language)
    spaceless = load_lexicon(language).spaceless
    lines = []
    for line in text.split("\n"):
        out = ""
        for token in _TOKEN.findall(line):
            word = table.get(token.casefold(), token) if token[0].isalpha() else token
            if not word:
                continue  # a word the language does not write (articles in Russian, say)
            glue = "" if not out or spaceless or token in _CLOSING or out.endswith(("(", '"', "«")) else " "
            if token.startswith('"') and not spaceless and out:
                glue = " "
            if out.rstrip().endswith((".", "?", "!")):
                word = capitalise(word, language)  # a new sentence, glossed or not, starts with a capital
            out += glue + word
        lines.append(capitalise(out, language))
    return "\n".join(lines)


def natural_translate(text: str, language: str, source: str = ENGLISH) -> tuple[str, int, int]:
    """The text in ``language`` as its natural sentences, read frame by frame from the source language.

    Returns (translation, sentences rendered naturally, sentences only glossed because no frame matched).
    """
    joiner = "" if load_lexicon(language).spaceless else " "
    natural = glossed = 0
    lines = []
    for line in text.split("\n"):
        parts = []
        for piece in parse(line, source):
            if piece.frame is None:
                parts.append(literal_translate(piece.text, language) if source == ENGLISH else piece.text)
                glossed += 1
            else:
                parts.append(render(piece.frame, piece.slots, language, piece.variant))
                natural += 1
        lines.append(joiner.join(p for p in parts if p))
    return "\n".join(lines), natural, glossed


def chrf(hypothesis: str, reference: str) -> float:
    """Sentence chrF (Popović 2015), 0..100, as sacrebleu computes it."""
    return CHRF().sentence_score(hypothesis, [reference]).score


def corpus_chrf(pairs: list[tuple[str, str]]) -> float:
    """Corpus chrF over (hypothesis, reference) pairs: n-gram statistics summed first (sacrebleu)."""
    if not pairs:
        return 0.0
    hypotheses, references = zip(*pairs, strict=True)
    return CHRF().corpus_score(list(hypotheses), [list(references)]).score
