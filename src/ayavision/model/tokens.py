"""The special tokens and chat template an Aya Vision tokenizer needs, and the tiny preset's tokenizer."""

from __future__ import annotations

from importlib import resources

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

IMAGE_PLACEHOLDER = "<image>"
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


# Cohere's chat markers; a tokenizer without a chat template gets these and the template below.
BOS = "<BOS_TOKEN>"
EOS = "<EOS_TOKEN>"
PAD = "<PAD>"
UNK = "<UNK>"
START_OF_TURN = "<|START_OF_TURN_TOKEN|>"
END_OF_TURN = "<|END_OF_TURN_TOKEN|>"
USER = "<|USER_TOKEN|>"
CHATBOT = "<|CHATBOT_TOKEN|>"
SYSTEM = "<|SYSTEM_TOKEN|>"
CHAT_TOKENS = [START_OF_TURN, END_OF_TURN, USER, CHATBOT, SYSTEM]

# Cohere-style turns. Inside a turn the images come first, then the text, as in the released models.
# `{% generation %}` marks assistant text so training can ask for an assistant-token mask.
COHERE_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{% set role_token = '" + SYSTEM + "' %}"
    "{% elif message['role'] == 'user' %}{% set role_token = '" + USER + "' %}"
    "{% elif message['role'] == 'assistant' %}{% set role_token = '" + CHATBOT + "' %}"
    "{% else %}{{ raise_exception('unknown role: ' + message['role']) }}{% endif %}"
    "{{ '" + START_OF_TURN + "' + role_token }}"
    "{% if message['content'] is string %}{% set parts = [{'type': 'text', 'text': message['content']}] %}"
    "{% else %}{% set parts = message['content'] %}{% endif %}"
    "{% for part in parts %}{% if part['type'] == 'image' %}{{ '" + IMAGE_PLACEHOLDER + "' }}{% endif %}{% endfor %}"
    "{% if message['role'] == 'assistant' %}{% generation %}"
    "{% for part in parts %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{{ '" + END_OF_TURN + "' }}{% endgeneration %}"
    "{% else %}"
    "{% for part in parts %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{{ '" + END_OF_TURN + "' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '" + START_OF_TURN + CHATBOT + "' }}{% endif %}"
)


def add_multimodal_tokens(tokenizer: PreTrainedTokenizerBase, max_tiles: int = MAX_TILE_TAGS) -> list[str]:
    """Make every image token and tile tag a single special token; return those that were new.

    Without this, ``TILE_12`` splits into several pieces while the processor's token count assumes one.
    """
    missing = [tok for tok in multimodal_tokens(max_tiles) if tok not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing}, replace_extra_special_tokens=False)
    return missing


def install_chat_template(tokenizer: PreTrainedTokenizerBase) -> tuple[list[str], str | None]:
    """Give the tokenizer an image-aware chat template when it lacks one; return (added tokens, a note or None).

    A text LLM's own template usually drops `{"type": "image"}` parts, which would leave the processor
    with images but no `<image>` placeholders; such a template is replaced too, and the note says so.
    """
    current = tokenizer.chat_template
    if isinstance(current, str) and IMAGE_PLACEHOLDER in current:
        return [], None
    added = [tok for tok in CHAT_TOKENS if tok not in tokenizer.get_vocab()]
    if added:
        tokenizer.add_special_tokens({"additional_special_tokens": added}, replace_extra_special_tokens=False)
    if tokenizer.bos_token is None:
        tokenizer.add_special_tokens({"bos_token": BOS})
        added.append(BOS)
    tokenizer.chat_template = COHERE_CHAT_TEMPLATE
    if current is None:
        return added, "installed the Cohere-style chat template (the tokenizer had none)"
    return added, "replaced the tokenizer's chat template, which does not place images, with the Cohere-style one"


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
