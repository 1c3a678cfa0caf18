"""NLLB-style translation with a seq2seq model: sentence by sentence, target language forced, length bounded.

NLLB degrades on long multi-sentence inputs and can loop, so each sentence is translated on its own,
its output is capped by its source length, and an output whose tail repeats is regenerated with
n-gram blocking, then refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ayavision.backends.base import BackendError, ChatRequest, ChatResponse

# A sentence ends at . ! ? followed by space, or right after CJK full stops; line breaks always split.
_BOUNDARY = re.compile(r"(?<=[.!?])[ \t]+|(?<=[。！？])[ \t]*|\n+")
_UNSPACED_TARGETS = ("zho_", "jpn_", "yue_", "tha_", "mya_", "khm_", "lao_")


def split_sentences(text: str) -> list[tuple[str, str]]:
    """``(sentence, separator after it)`` pairs; joining them all gives ``text`` back (modulo outer space)."""
    pieces: list[tuple[str, str]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        sentence = text[start : match.start()]
        if sentence.strip():
            pieces.append((sentence.strip(), match.group(0)))
        elif pieces:  # a blank run between separators: keep its line breaks on the previous sentence
            pieces[-1] = (pieces[-1][0], pieces[-1][1] + match.group(0))
        start = match.end()
    if text[start:].strip():
        pieces.append((text[start:].strip(), ""))
    return pieces


def join_sentences(pieces: list[tuple[str, str]], target: str) -> str:
    """Rejoin translated sentences; languages written without spaces get none between sentences."""
    unspaced = target.startswith(_UNSPACED_TARGETS)
    # Between sentences of an unspaced script a space is wrong; line breaks stay.
    return "".join(s + ("" if unspaced and not sep.strip(" \t") else sep) for s, sep in pieces)


def repetition_loop(ids: list[int], max_period: int = 8, min_repeats: int = 4) -> bool:
    """True when the output ends in ``min_repeats`` or more copies of one n-gram (n <= ``max_period``)."""
    for period in range(1, max_period + 1):
        span = period * min_repeats
        if len(ids) < span:
            break
        tail = ids[-span:]
        if all(tail[i] == tail[i - period] for i in range(period, span)):
            return True
    return False


def length_bound(source_tokens: int, ratio: float, slack: int, max_tokens: int) -> int:
    """Most tokens a sentence's translation may have: proportional to its source, never above ``max_tokens``."""
    return max(1, min(max_tokens, math.ceil(ratio * source_tokens) + slack))


@dataclass
class Sentence:
    request: int  # which request of the batch it belongs to
    text: str
    bound: int = 0
    ids: list[int] | None = None
    cut: bool = False  # reached its bound without an end-of-sequence token


def language_token(tokenizer: Any, code: str) -> int:
    token_id = tokenizer.convert_tokens_to_ids(code)
    if token_id is None or token_id == tokenizer.unk_token_id:
        raise BackendError(f"the translation model has no language token {code!r} (it needs NLLB codes)", fatal=True)
    return token_id


def translation_hints(request: ChatRequest) -> tuple[str, str, str]:
    """Source language, target language and text of a translation request (text = the last user turn)."""
    src, tgt = request.hints.get("src_lang"), request.hints.get("tgt_lang")
    if not src or not tgt:
        raise BackendError("a seq2seq translation backend needs hints src_lang and tgt_lang (NLLB codes)")
    for message in reversed(request.messages):
        if message["role"] == "user":
            content = message["content"]
            if isinstance(content, str):
                return src, tgt, content
            return src, tgt, "\n".join(p["text"] for p in content if p.get("type") == "text")
    raise BackendError("a translation request needs a user turn holding the text")


class Seq2SeqTranslator:
    """Translates a batch of requests that share source language, target language and max_tokens."""

    def __init__(self, model: Any, tokenizer: Any, settings: Any) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings  # TransformersConfig: length_ratio, length_slack, loops, batch_size...

    def _encode(self, texts: list[str], src: str) -> Any:
        tokenizer = self.tokenizer
        if hasattr(tokenizer, "src_lang"):  # NLLB/M2M tokenizers put the language token in themselves
            tokenizer.src_lang = src
            return tokenizer(texts, return_tensors="pt", padding=True)
        prefixed = [f"{src} {t}" for t in texts]  # other tokenizers: the code as the first word
        return tokenizer(prefixed, return_tensors="pt", padding=True)

    def _generate(self, sentences: list[Sentence], src: str, forced: int, block_repeats: bool) -> None:
        import torch

        encoded = self._encode([s.text for s in sentences], src).to(self.model.device)
        lengths = encoded["attention_mask"].sum(dim=1).tolist()
        for sentence, length in zip(sentences, lengths, strict=True):
            sentence.bound = length_bound(
                int(length), self.settings.length_ratio, self.settings.length_slack, self._max_tokens
            )
        options: dict[str, Any] = {"forced_bos_token_id": forced, "do_sample": False}
        options.update(self.settings.generation)
        if block_repeats:
            options.update(no_repeat_ngram_size=self.settings.no_repeat_ngram_size)
        with torch.inference_mode():
            # +1: the forced language token is generated too, and does not count against the bound.
            out = self.model.generate(**encoded, max_new_tokens=max(s.bound for s in sentences) + 1, **options)
        eos = self.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos])
        pad = self.tokenizer.pad_token_id
        for sentence, row in zip(sentences, out.tolist(), strict=True):
            ids = row[1:]  # drop the decoder start token
            if ids and ids[0] == forced:
                ids = ids[1:]
            ended = next((i for i, t in enumerate(ids) if t in eos_ids), None)
            if ended is not None:
                ids = ids[:ended]
            ids = [t for t in ids if t != pad]
            sentence.cut = ended is None or ended > sentence.bound
            sentence.ids = ids[: sentence.bound]

    def translate(self, requests: list[ChatRequest]) -> list[ChatResponse | BaseException]:
        src, tgt, _ = translation_hints(requests[0])
        forced = language_token(self.tokenizer, tgt)
        self._max_tokens = requests[0].max_tokens
        pieces = [split_sentences(translation_hints(r)[2]) if self.settings.split_sentences else [] for r in requests]
        for k, request in enumerate(requests):
            if not self.settings.split_sentences:
                pieces[k] = [(translation_hints(request)[2].strip(), "")]
        sentences = [Sentence(k, text) for k, ps in enumerate(pieces) for text, _ in ps]
        size = self.settings.batch_size
        for start in range(0, len(sentences), size):
            self._generate(sentences[start : start + size], src, forced, block_repeats=False)
        if self.settings.detect_loops:
            for _ in range(self.settings.loop_retries):
                looping = [s for s in sentences if repetition_loop(s.ids or [])]
                for start in range(0, len(looping), size):
                    self._generate(looping[start : start + size], src, forced, block_repeats=True)
        return [
            self._response(k, pieces[k], [s for s in sentences if s.request == k], tgt) for k in range(len(requests))
        ]

    def _response(self, k: int, pieces: list, sentences: list[Sentence], tgt: str) -> ChatResponse | BaseException:
        if self.settings.detect_loops:
            for sentence in sentences:
                if repetition_loop(sentence.ids or []):
                    return BackendError(f"repetition loop translating {sentence.text[:60]!r} into {tgt}")
        texts = self.tokenizer.batch_decode([s.ids or [] for s in sentences], skip_special_tokens=True)
        joined = join_sentences([(t.strip(), sep) for t, (_, sep) in zip(texts, pieces, strict=True)], tgt)
        return ChatResponse(
            text=joined.strip(),
            finish_reason="length" if any(s.cut for s in sentences) else "stop",
            prompt_tokens=None,
            completion_tokens=sum(len(s.ids or []) for s in sentences),
        )
