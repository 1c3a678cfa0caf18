"""The demo's translators: a word-by-word gloss ("translationese") and the natural sentence, plus chrF."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

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


def _char_ngrams(text: str, n: int) -> Counter[str]:
    chars = "".join(text.split())  # chrF ignores white space, as sacrebleu does
    return Counter(chars[i : i + n] for i in range(len(chars) - n + 1))


def chrf(hypothesis: str, reference: str, order: int = 6, beta: float = 2.0) -> float:
    """Character n-gram F-score (chrF, Popović 2015) of one sentence pair, 0..100."""
    precisions, recalls = [], []
    for n in range(1, order + 1):
        hyp, ref = _char_ngrams(hypothesis, n), _char_ngrams(reference, n)
        if not hyp or not ref:
            continue
        overlap = sum((hyp & ref).values())
        precisions.append(overlap / sum(hyp.values()))
        recalls.append(overlap / sum(ref.values()))
    if not precisions:
        return 100.0 if hypothesis.strip() == reference.strip() else 0.0
    p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    if p == 0 and r == 0:
        return 0.0
    return 100 * (1 + beta**2) * p * r / (beta**2 * p + r)


def corpus_chrf(pairs: list[tuple[str, str]], order: int = 6, beta: float = 2.0) -> float:
    """chrF over many (hypothesis, reference) pairs: n-gram statistics summed first, as sacrebleu does."""
    totals = [[0, 0, 0] for _ in range(order)]  # overlap, hypothesis n-grams, reference n-grams
    for hypothesis, reference in pairs:
        for n in range(1, order + 1):
            hyp, ref = _char_ngrams(hypothesis, n), _char_ngrams(reference, n)
            totals[n - 1][0] += sum((hyp & ref).values())
            totals[n - 1][1] += sum(hyp.values())
            totals[n - 1][2] += sum(ref.values())
    precisions = [o / h for o, h, r in totals if h and r]
    recalls = [o / r for o, h, r in totals if h and r]
    if not precisions:
        return 0.0
    p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    return 0.0 if p == 0 and r == 0 else 100 * (1 + beta**2) * p * r / (beta**2 * p + r)
