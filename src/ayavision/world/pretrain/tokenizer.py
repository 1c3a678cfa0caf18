"""The world's tokenizer: byte-level BPE on its own 23-language corpus (any text still encodes, byte by byte).

It is ``ayavision.model.tokens.train_tiny_tokenizer`` with a prefix space added to every stretch of text
between special tokens, so an answer right after ``<|CHATBOT_TOKEN|>`` ("rouge") is the same token as the
word in a sentence (" rouge"): copying a word from the prompt is then one token, not a spelling exercise.
Decoding gives that space back; callers strip answers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerFast

from ayavision.languages import LANGUAGES
from ayavision.model.tokens import train_tiny_tokenizer
from ayavision.world.cache import building, cached
from ayavision.world.corpus import world_corpus
from ayavision.world.grammar import render
from ayavision.world.pretrain.configs import TokenizerConfig


def train_world_tokenizer(vocab_size: int, corpus: list[str]) -> PreTrainedTokenizerFast:
    return train_tiny_tokenizer(vocab_size, corpus, prefix_space=True)


def pretrain_tokenizer(out: str | Path, config: TokenizerConfig | None = None, **settings: Any) -> dict[str, Any]:
    """Train and save the tokenizer to ``out`` (a transformers tokenizer folder); reused if already there.

    Returns the summary: vocabulary size, seconds, and tokens per sentence for each language.
    """
    config = config or TokenizerConfig(**settings)
    done = cached(out, "tokenizer", config)
    if done is not None:
        return done
    start = time.perf_counter()
    corpus = list(world_corpus(config.seed, config.per_frame, config.text_samples))
    tokenizer = train_world_tokenizer(config.vocab_size, corpus)
    slots = {"a": "star", "c": "red", "s": "small", "p": "top_left"}
    per_language = {
        lang.nllb: len(tokenizer(render("object", slots, lang.nllb), add_special_tokens=False).input_ids)
        for lang in LANGUAGES
    }
    with building(out, "tokenizer", config) as (tmp, finish):
        tokenizer.save_pretrained(tmp)
        return finish(
            vocab=len(tokenizer),
            corpus_lines=len(corpus),
            seconds=round(time.perf_counter() - start, 1),
            tokens_for_one_object_sentence=per_language,
        )


def load_world_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))
