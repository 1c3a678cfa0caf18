"""MTLD (McCarthy & Jarvis 2010), this project's own implementation.

On text without characters of unspaced scripts it equals the ``lexicalrichness`` package (the paper's
numbers come from it): same preprocessing (lowercase; ASCII digits and dashes removed; ASCII punctuation
becomes space), same whitespace split, same forward/backward factor counting with a partial last factor.
Unlike it, a run of Chinese or Japanese text is not one "word": Han characters count one token each, runs
of hiragana or katakana one token each, and CJK punctuation is dropped.
"""

from __future__ import annotations

import re
import string
import unicodedata

_DIGITS = re.compile(r"[0-9]+")
_ASCII_PUNCTUATION = str.maketrans(dict.fromkeys(string.punctuation, " "))
# Han ideographs (with extensions and compatibility forms), hiragana, katakana (with half-width forms).
_UNSPACED = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff\u3040-\u309f\u30a0-\u30ff\uff66-\uff9f]"
)
_SEGMENT = re.compile(
    r"(?P<han>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff])"
    r"|(?P<hiragana>[\u3040-\u309f]+)"
    r"|(?P<katakana>[\u30a0-\u30ff\uff66-\uff9f\u30fc]+)"
    r"|(?P<other>[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff\u3040-\u309f\u30a0-\u30ff\uff66-\uff9f]+)"
)


def _is_word(piece: str) -> bool:
    """False for pieces made only of punctuation, symbols or digits (e.g. '。', '「', '１２')."""
    return any(unicodedata.category(ch)[0] in "LM" for ch in piece)


def _split_unspaced(token: str) -> list[str]:
    pieces = []
    for match in _SEGMENT.finditer(token):
        piece = match.group(0)
        if match.lastgroup == "other":
            # Punctuation glued to CJK text (，。「」) separates words rather than being one.
            pieces += [p for p in re.split(r"[\W_]+", piece) if p and _is_word(p)]
        else:
            pieces.append(piece)
    return pieces


def mtld_tokens(text: str) -> list[str]:
    """The tokens MTLD counts: ``lexicalrichness``'s on spaced text, CJK split as described above."""
    text = _DIGITS.sub("", text.lower())
    text = text.replace("–", "").replace("—", "").replace("-", "")
    tokens = []
    for token in text.translate(_ASCII_PUNCTUATION).split():
        if _UNSPACED.search(token):
            tokens += _split_unspaced(token)
        else:
            tokens.append(token)
    return tokens


def _factors(words: list[str], threshold: float, total_ttr: float) -> float:
    terms: set[str] = set()
    count = 0
    factors = 0.0
    ttr = 1.0
    for word in words:
        count += 1
        terms.add(word)
        ttr = len(terms) / count
        if ttr <= threshold:
            count = 0
            terms = set()
            factors += 1
    if count > 0:  # the last, partial factor: how far its TTR fell towards the threshold
        factors += (1 - ttr) / (1 - threshold)
    if factors == 0:  # the TTR never fell at all (a text of distinct words that ended on a full factor)
        factors = 1.0 if total_ttr == 1 else (1 - total_ttr) / (1 - threshold)
    return len(words) / factors


def mtld(text: str | list[str], threshold: float = 0.72) -> float:
    """Mean of the forward and backward MTLD of ``text`` (or of a token list); 0.0 for text without words."""
    words = mtld_tokens(text) if isinstance(text, str) else list(text)
    if not words:
        return 0.0
    total_ttr = len(set(words)) / len(words)
    forward = _factors(words, threshold, total_ttr)
    backward = _factors(words[::-1], threshold, total_ttr)
    return (forward + backward) / 2
