"""Counting words and tokens of answers, in any of the 23 languages."""

from __future__ import annotations

import re
from pathlib import Path

from ayavision.annotate.metrics.mtld import _UNSPACED, _split_unspaced
from ayavision.errors import ConfigError

_REGEX_TOKENS = re.compile(r"\w+|[^\w\s]")
REGEX_TOKENIZER = r"regex:\w+|[^\w\s]"


def count_words(text: str) -> int:
    """Whitespace-separated words that hold a letter or digit; unspaced (CJK) runs segmented as for MTLD."""
    count = 0
    for token in text.split():
        if _UNSPACED.search(token):
            count += len(_split_unspaced(token.lower()))
        elif any(ch.isalnum() for ch in token):
            count += 1
    return count


class TokenCounter:
    """Counts tokens with a named Hugging Face tokenizer (a local folder), or a regex when none is given.

    The name goes into the report: token counts mean nothing without the tokenizer that made them.
    """

    def __init__(self, tokenizer: str | Path | None = None) -> None:
        self.name = str(tokenizer) if tokenizer else REGEX_TOKENIZER
        self._tokenizer = None
        if tokenizer:
            from transformers import AutoTokenizer

            try:
                self._tokenizer = AutoTokenizer.from_pretrained(str(tokenizer))
            except (OSError, ValueError) as err:
                raise ConfigError(f"cannot load tokenizer {tokenizer}: {err}") from None

    def count(self, text: str) -> int:
        if self._tokenizer is None:
            return len(_REGEX_TOKENS.findall(text))
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])
