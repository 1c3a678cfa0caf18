"""A composed model's chat format: the LLM's own template made image-aware, its stop tokens, and assistant spans.

A user's instruct LLM (ChatML, Llama 3, Gemma, Cohere...) keeps its template and turn tokens: the VLM's template is
the LLM's template behind a short prelude that turns list content into the string the LLM's template expects, an
image part becoming the ``<image>`` placeholder (images first, then text, as in the released models). A text-only
conversation therefore renders byte for byte as the LLM renders it, and no chat token is added. Only an LLM with no
template gets one: the Cohere format when its tokenizer has Cohere's turn tokens, a plain-text one otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.nodes

from ayavision.errors import AyaVisionError

if TYPE_CHECKING:  # the backends import this module before (and without) loading transformers
    from transformers import PreTrainedTokenizerBase

IMAGE_PLACEHOLDER = "<image>"
# Cohere's chat markers: the Cohere format uses them; no other LLM gets them.
BOS = "<BOS_TOKEN>"
START_OF_TURN = "<|START_OF_TURN_TOKEN|>"
END_OF_TURN = "<|END_OF_TURN_TOKEN|>"
USER = "<|USER_TOKEN|>"
CHATBOT = "<|CHATBOT_TOKEN|>"
SYSTEM = "<|SYSTEM_TOKEN|>"
CHAT_TOKENS = [START_OF_TURN, END_OF_TURN, USER, CHATBOT, SYSTEM]

IMAGE_PART_TYPES = ("image", "image_url")
_PRELUDE_MARK = "{#- ayavision: image-aware prelude -#}"

# Iterates message['content'] itself (not a copy under another name): that is how vLLM recognises a template that
# takes OpenAI-style content lists (see content_format). Messages with list content keep only role and content.
IMAGE_AWARE_PRELUDE = (
    _PRELUDE_MARK + "{%- set ayavision = namespace(messages=[]) -%}"
    "{%- for message in messages -%}"
    "{%- if message['content'] is string -%}"
    "{%- set ayavision.messages = ayavision.messages + [message] -%}"
    "{%- else -%}"
    "{%- set joined = namespace(images='', text='') -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] in " + repr(list(IMAGE_PART_TYPES)) + " -%}"
    "{%- set joined.images = joined.images + '" + IMAGE_PLACEHOLDER + "' -%}"
    "{%- elif part['type'] == 'text' -%}{%- set joined.text = joined.text + part['text'] -%}"
    "{%- else -%}{{- raise_exception('unsupported content part type: ' + part['type']) -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- set ayavision.messages = ayavision.messages + [{'role': message['role'], "
    "'content': joined.images + joined.text}] -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    # No right trim here: whatever the LLM's template starts with is its own.
    "{%- set messages = ayavision.messages %}"
)

_COHERE_TURNS = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{% set role_token = '" + SYSTEM + "' %}"
    "{% elif message['role'] == 'user' %}{% set role_token = '" + USER + "' %}"
    "{% elif message['role'] == 'assistant' %}{% set role_token = '" + CHATBOT + "' %}"
    "{% else %}{{ raise_exception('unknown role: ' + message['role']) }}{% endif %}"
    "{{ '" + START_OF_TURN + "' + role_token }}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '" + END_OF_TURN + "' }}"
    "{% endgeneration %}{% else %}{{ message['content'] + '" + END_OF_TURN + "' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '" + START_OF_TURN + CHATBOT + "' }}{% endif %}"
)
# Cohere-style turns, as the released Aya Vision models have them: for the paper's Cohere LLMs and the tiny preset.
COHERE_CHAT_TEMPLATE = IMAGE_AWARE_PRELUDE + _COHERE_TURNS

# For a base LLM with no template: plain-text turns that need no new token; an answer ends with the LLM's eos.
PLAIN_CHAT_TEMPLATE = IMAGE_AWARE_PRELUDE + (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('unknown role: ' + message['role']) }}{% endif %}"
    "{{ message['role'] | capitalize + ':' }}"
    "{% if message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token + '\n\n' }}"
    "{% else %}{{ ' ' + message['content'] + '\n\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)


class ChatFormatError(AyaVisionError, ValueError):
    """A conversation whose assistant turns the template does not render as a growing prefix; names the record."""


def is_image_aware(template: str | None) -> bool:
    return isinstance(template, str) and IMAGE_PLACEHOLDER in template


def image_aware(template: str) -> str:
    """The LLM's template with the prelude in front; a template that places images already is kept."""
    return template if is_image_aware(template) else IMAGE_AWARE_PRELUDE + template


def install_chat_template(tokenizer: PreTrainedTokenizerBase) -> str | None:
    """Make the tokenizer's template image-aware (or give it one); return a note saying what was done, or None.

    No token is added: a template the LLM has keeps its turn markers; a missing one is Cohere's when the tokenizer
    has Cohere's turn tokens, plain text otherwise.
    """
    current = tokenizer.chat_template
    if isinstance(current, dict):
        current = current.get("default")
    if is_image_aware(current):
        return None
    if isinstance(current, str):
        tokenizer.chat_template = image_aware(current)
        return "kept the LLM's chat template; image parts become <image> inside its turns"
    vocab = tokenizer.get_vocab()
    if all(token in vocab for token in CHAT_TOKENS):
        tokenizer.chat_template = COHERE_CHAT_TEMPLATE
        return "the tokenizer had no chat template: installed the Cohere-style one (its turn tokens exist)"
    if tokenizer.eos_token is None:
        raise ChatFormatError("the LLM's tokenizer has neither a chat template nor an eos token to end answers with")
    tokenizer.chat_template = PLAIN_CHAT_TEMPLATE
    return "the tokenizer had no chat template (a base LLM): installed a plain-text one ('User: ...', 'Assistant: ...')"


def stop_token_ids(tokenizer: PreTrainedTokenizerBase, llm_eos: int | Sequence[int] | None) -> list[int]:
    """The ids that end an answer: the LLM's own eos ids (its generation config), Cohere's end of turn when the
    template uses it, and the tokenizer's eos; in that order, without repeats."""
    ids: list[int] = []
    if isinstance(llm_eos, int):
        ids.append(llm_eos)
    elif llm_eos is not None:
        ids.extend(llm_eos)
    template = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else ""
    if END_OF_TURN in template and END_OF_TURN in tokenizer.get_vocab():
        ids.append(tokenizer.convert_tokens_to_ids(END_OF_TURN))
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    size = len(tokenizer)  # a config class default (Cohere's 255001) may lie outside a small vocabulary
    return [i for i in dict.fromkeys(ids) if 0 <= i < size]


Render = Callable[[list[dict[str, Any]], bool], str]  # (messages, add_generation_prompt) -> text


def assistant_spans(render: Render, messages: list[dict[str, Any]], stop_strings: Collection[str]) -> list[tuple]:
    """Character spans of the assistant answers in ``render(messages, False)``, found by rendering prefixes.

    The answer of turn i is what ``messages[: i + 1]`` adds to ``messages[: i]`` with the generation prompt, up to
    and including the first stop token in it (what follows, e.g. ChatML's newline, is never generated). This works
    for any template that renders a conversation as a growing prefix, with or without ``{% generation %}`` marks.
    """
    full = render(messages, False)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = render(messages[:i], True)
        through = render(messages[: i + 1], False)
        if not (through.startswith(before) and full.startswith(through)):
            raise ChatFormatError(
                f"turn {i}: the chat template does not render this conversation as a growing prefix (it rewrites "
                "earlier turns), so the assistant tokens cannot be located"
            )
        start, end = len(before), len(through)
        answer = full[start:end]
        cuts = [answer.find(stop) + len(stop) for stop in stop_strings if stop and stop in answer]
        spans.append((start, start + min(cuts) if cuts else end))
    return spans


@dataclass
class EncodedConversation:
    input_ids: list[int]
    assistant_mask: list[int]  # 1 where a token belongs to an assistant answer (its stop token included)
    pixel_values: Any  # (tiles, 3, H, W) or None


def _render_with_spans(
    processor: Any, messages: list[dict[str, Any]], stop_ids: Collection[int]
) -> tuple[str, list[tuple[int, int]]]:
    """The conversation rendered by the processor's template, and its assistant answers' character spans."""

    def render(conversation: list[dict[str, Any]], add_generation_prompt: bool) -> str:
        if not conversation:
            raise ChatFormatError("the conversation opens with an assistant turn: there is no prompt to answer")
        return processor.apply_chat_template(conversation, tokenize=False, add_generation_prompt=add_generation_prompt)

    stop_strings = processor.tokenizer.convert_ids_to_tokens(list(stop_ids))
    return render(messages, False), assistant_spans(render, messages, stop_strings)


def _masked(ids: list[int], offsets: list[list[int]], spans: list[tuple[int, int]], replaced: list[dict]) -> list[int]:
    shifted = [_shift(span, replaced) for span in spans]
    return [
        int(any(start < span_end and end > span_start for span_start, span_end in shifted)) for start, end in offsets
    ]


def encode_conversation(
    processor: Any, messages: list[dict[str, Any]], stop_ids: Collection[int]
) -> EncodedConversation:
    """Token ids of a whole conversation and which of them are assistant answers, for any chat template.

    The text is rendered by the processor's template, its images expanded and tokenised by the processor (no
    special token added: a template writes its own, as ``tokenizer.apply_chat_template`` assumes); assistant
    character spans (:func:`assistant_spans`) are moved past the expanded image placeholders before them and mapped
    onto tokens through the offset mapping.
    """
    text, spans = _render_with_spans(processor, messages, stop_ids)
    images = [
        part["image"]
        for m in messages
        if not isinstance(m["content"], str)
        for part in m["content"]
        if part.get("type") in IMAGE_PART_TYPES
    ]
    encoded = processor(
        text=[text],
        images=[images] if images else None,
        add_special_tokens=False,
        padding=False,  # one conversation; and many LLMs (Llama 3) have no pad token
        return_offsets_mapping=True,
        return_text_replacement_offsets=True,
        return_tensors="pt",
    )
    ids = encoded["input_ids"][0].tolist()
    replaced = (encoded.get("text_replacement_offsets") or [[]])[0]
    mask = _masked(ids, encoded["offset_mapping"][0].tolist(), spans, replaced)
    return EncodedConversation(ids, mask, encoded.get("pixel_values"))


def plan_conversation(
    processor: Any, messages: list[dict[str, Any]], stop_ids: Collection[int], image_sizes: list[tuple[int, int]]
) -> tuple[EncodedConversation, list[int]]:
    """What :func:`encode_conversation` gives, without touching a pixel: ids and mask from the images' sizes.

    Each image's tiles are counted from its (height, width) as the image processor would cut it, its placeholder
    expanded by the processor's own ``replace_image_token`` and ``get_text_with_replacements``, and the text
    tokenised as the processor tokenises it; ``pixel_values`` stays None (the image processor makes them later,
    only where they are needed). Returns the encoding and the tiles of each image.
    """
    text, spans = _render_with_spans(processor, messages, stop_ids)
    tiles: list[int] = []
    replaced: list[dict] = []
    if image_sizes:
        counts = processor._get_num_multimodal_tokens(image_sizes=[list(size) for size in image_sizes])
        tiles = list(counts.num_image_patches)
        replacements = [
            processor.replace_image_token({"num_patches": tiles}, image_idx=index) for index in range(len(tiles))
        ]
        expanded, offsets = processor.get_text_with_replacements([text], images_replacements=replacements)
        text, replaced = expanded[0], offsets[0]
    encoded = processor.tokenizer(
        [text], add_special_tokens=False, padding=False, return_offsets_mapping=True, return_tensors="pt"
    )
    ids = encoded["input_ids"][0].tolist()
    return EncodedConversation(ids, _masked(ids, encoded["offset_mapping"][0].tolist(), spans, replaced), None), tiles


def _shift(span: tuple[int, int], replaced: list[dict[str, Any]]) -> tuple[int, int]:
    """A span of the rendered text, in the text after the placeholders before it were expanded.

    A replacement's ``new_span`` is where it lies in the expanded text, so ``new_span - span`` already counts every
    placeholder before it: the shift is that of the last placeholder before the span (a sum would count the first
    of two images twice, and a two-image question would lose its answer).
    """
    gains = [r["new_span"][1] - r["span"][1] for r in replaced if r["span"][1] <= span[0]]
    gained = gains[-1] if gains else 0
    return span[0] + gained, span[1] + gained


# --- vLLM's content-format rule -----------------------------------------------------------------------------------
# vLLM (>= 0.5, read from its chat utilities in 0.24 and 0.33) decides whether to pass a message's content to the
# template as a list of typed parts ("openai") or as one string ("string") by reading the template's syntax tree: it
# collects the names bound to `messages` (the variable itself and every `set x = messages...`), the loop variables
# of `for m in <those>`, and answers "openai" when some loop iterates `m['content']` or `m.content` of one of them
# (filters, tests and slices around the expression allowed), or, since 0.33, a variable named `content`. With
# "string" it never inserts the image placeholder, so an image request fails. This is that rule, re-written here.


def content_format(template: str) -> str:
    """'openai' or 'string': what vLLM's auto-detection concludes for this template."""
    tree = jinja2.Environment(extensions=["jinja2.ext.loopcontrols"]).parse(_strip_generation(template))
    message_lists = _names_bound_to(tree, "messages")
    message_vars = {
        loop.target.name
        for loop in tree.find_all(jinja2.nodes.For)
        if isinstance(loop.target, jinja2.nodes.Name) and any(_reads(loop.iter, name) for name in message_lists)
    }
    for loop in tree.find_all(jinja2.nodes.For):
        if any(_reads(loop.iter, name, key="content") for name in message_vars):
            return "openai"
        if isinstance(loop.iter, jinja2.nodes.Name) and loop.iter.name == "content":
            return "openai"
    return "string"


_GENERATION_TAG = re.compile(r"\{%-?\s*(end)?generation\s*-?%\}")


def _strip_generation(template: str) -> str:
    # `{% generation %}` is a transformers extension tag; it does not change which loops exist.
    return _GENERATION_TAG.sub("", template)


def _names_bound_to(tree: jinja2.nodes.Template, root: str) -> set[str]:
    names, pending = {root}, [root]
    while pending:
        source = pending.pop()
        for assign in tree.find_all(jinja2.nodes.Assign):
            target = assign.target
            if isinstance(target, jinja2.nodes.Name) and target.name not in names and _reads(assign.node, source):
                names.add(target.name)
                pending.append(target.name)
    return names


def _reads(node: jinja2.nodes.Node, name: str, key: str | None = None) -> bool:
    """``node`` is ``name`` (or ``name[key]`` / ``name.key``), possibly under filters, tests or a slice."""
    if isinstance(node, jinja2.nodes.Filter | jinja2.nodes.Test):
        return node.node is not None and _reads(node.node, name, key)
    if isinstance(node, jinja2.nodes.Getitem) and isinstance(node.arg, jinja2.nodes.Slice):
        return _reads(node.node, name, key)
    if key is None:
        return isinstance(node, jinja2.nodes.Name) and node.ctx == "load" and node.name == name
    if isinstance(node, jinja2.nodes.Getitem):
        return _reads(node.node, name) and isinstance(node.arg, jinja2.nodes.Const) and node.arg.value == key
    if isinstance(node, jinja2.nodes.Getattr):
        return _reads(node.node, name) and node.attr == key
    return False
