"""The image tokens and tile tags an Aya Vision tokenizer needs, and the tiny preset's tokenizer."""

from __future__ import annotations

from importlib import resources

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

from ayavision.model.chat_format import (
    BOS,
    CHAT_TOKENS,
    CHATBOT,
    COHERE_CHAT_TEMPLATE,
    END_OF_TURN,
    IMAGE_PLACEHOLDER,
    START_OF_TURN,
    SYSTEM,
    USER,
)

# Re-exported: the chat markers are defined with the chat format, and the tiny tokenizer has them.
__all__ = ["BOS", "CHATBOT", "CHAT_TOKENS", "COHERE_CHAT_TEMPLATE", "END_OF_TURN", "START_OF_TURN", "SYSTEM", "USER"]

START_OF_IMG = "<|START_OF_IMG|>"
END_OF_IMG = "<|END_OF_IMG|>"
IMG_PATCH = "<|IMG_PATCH|>"
IMG_LINE_BREAK = "<|IMG_LINE_BREAK|>"
TILE_PREFIX = "TILE"
TILE_GLOBAL = "TILE_GLOBAL"
MAX_TILE_TAGS = 12


def tile_tags(max_tiles: int = MAX_TILE_TAGS) -> list[str]:
    """``TILE_1``..``TILE_n`` and ``TILE_GLOBAL``: the processor writes them as plain text between tiles."""
    return [f"{TILE_PREFIX}_{i}" for i in range(1, max_tiles + 1)] + [TILE_GLOBAL]


def multimodal_tokens(max_tiles: int = MAX_TILE_TAGS) -> list[str]:
    return [IMAGE_PLACEHOLDER, START_OF_IMG, END_OF_IMG, IMG_PATCH, IMG_LINE_BREAK, *tile_tags(max_tiles)]


# The tiny preset's own specials; its turn markers are Cohere's.
PAD = "<PAD>"
UNK = "<UNK>"
EOS = "<EOS_TOKEN>"


def add_multimodal_tokens(tokenizer: PreTrainedTokenizerBase, max_tiles: int = MAX_TILE_TAGS) -> list[str]:
    """Make every image token and tile tag a single special token; return those that were new.

    Without this, ``TILE_12`` splits into several pieces while the processor's token count assumes one.
    """
    missing = [tok for tok in multimodal_tokens(max_tiles) if tok not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing}, replace_extra_special_tokens=False)
    return missing


def train_tiny_tokenizer(
    vocab_size: int = 1024, corpus: list[str] | None = None, prefix_space: bool = False
) -> PreTrainedTokenizerFast:
    """A byte-level BPE trained in a second on a small multilingual corpus: any text encodes, nothing is downloaded.

    ``prefix_space``: a space is added before every stretch of text between special tokens, so a word right after
    a chat token is the same token as inside a sentence (decoding gives the space back).
    """
    if corpus is None:
        text = resources.files("ayavision.model.assets").joinpath("tiny_corpus.txt").read_text(encoding="utf-8")
        corpus = text.splitlines()
    backend = Tokenizer(models.BPE(unk_token=None))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=prefix_space)
    backend.decoder = decoders.ByteLevel()
    specials = [PAD, UNK, BOS, EOS, *CHAT_TOKENS]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=BOS,
        eos_token=END_OF_TURN,
        pad_token=PAD,
        unk_token=UNK,
        padding_side="left",
    )
    tokenizer.chat_template = COHERE_CHAT_TEMPLATE
    add_multimodal_tokens(tokenizer)
    return tokenizer
