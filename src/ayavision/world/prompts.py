"""Recognise which step's prompt a demo backend is answering, from markers in the built-in prompt templates.

The backends see only ``ChatRequest``s. Each step writes its own prompt; these readers pull out the parts
a demo backend needs (the instruction, the candidate answer, the source text...). A step that also passes
the facts in ``ChatRequest.hints`` (e.g. ``src_lang``/``tgt_lang``) is read from those first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ayavision.languages import LANGUAGES, Language

# Recaption templates: "<label>: {instruction}\n<label>: {answer}" and an <answer> tag request.
_RECAPTION = re.compile(
    r"^(?:Question|Request|Problem):[ \t]*(?P<instruction>.*?)\n"
    r"(?:Reference answer|Short caption|Correct final answer|Correct short answer):[ \t]*(?P<answer>.*?)\n",
    re.MULTILINE | re.DOTALL,
)
_FILTER = re.compile(
    r"^Question:[ \t]*(?P<instruction>.*?)\nCorrect short answer:[ \t]*(?P<answer>.*?)\n"
    r"Candidate answer:[ \t]*(?P<candidate>.*?)\n\n",
    re.MULTILINE | re.DOTALL,
)
_REPHRASE = re.compile(
    # Language names may hold parentheses themselves: "Chinese (Simplified)".
    r"Source \((?P<src>[^\n]*?)\):\n(?P<source>.*?)\n\nMachine translation \((?P<tgt>[^\n]*?)\):\n(?P<mt>.*?)\n\n",
    re.DOTALL,
)
_TAG = {
    name: re.compile(rf"<{name}>\s*(.*?)\s*</{name}>", re.DOTALL)
    for name in ("request", "reference_answer", "answer_A", "answer_B")
}
_TRANSLATE_INTO = re.compile(r"\binto (?P<tgt>[A-Z][A-Za-z ()]+?)[.,]")


@dataclass
class Chat:
    """A request's messages split into what the backends use."""

    system: str
    user: str  # the text of the last user turn
    images: list[Any]  # image parts of the last user turn (bytes, paths or PIL images)


def split_chat(messages: list[dict[str, Any]]) -> Chat:
    system, user, images = "", "", []
    for message in messages:
        content = message.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
        text = "\n".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")
        if message.get("role") == "system":
            system = text
        elif message.get("role") == "user":
            user = text
            images = [p.get("image") for p in parts if p.get("type") == "image"]
    return Chat(system, user, images)


def language_by_name(name: str) -> Language | None:
    name = name.strip().casefold()
    for lang in LANGUAGES:
        if name in (lang.english_name.casefold(), lang.english_name.split(" (")[0].casefold(), lang.nllb.casefold()):
            return lang
    return None


def recaption_parts(text: str) -> tuple[str, str] | None:
    """(instruction, short answer) of a recaption prompt, or None if the text is not one."""
    if "<answer>" not in text:
        return None
    match = _RECAPTION.search(text)
    return (match["instruction"].strip(), match["answer"].strip()) if match else None


def filter_parts(text: str) -> tuple[str, str, str] | None:
    """(instruction, short answer, candidate) of the filter judge's prompt, or None."""
    if "YES" not in text or "NO" not in text:
        return None
    match = _FILTER.search(text)
    return (match["instruction"].strip(), match["answer"].strip(), match["candidate"].strip()) if match else None


def rephrase_parts(text: str, hints: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """(source language, target language, source text, machine translation) of a rephrase prompt."""
    match = _REPHRASE.search(text)
    if match is None:
        return None
    src = hints.get("src_lang") or getattr(language_by_name(match["src"]), "nllb", None)
    tgt = hints.get("tgt_lang") or getattr(language_by_name(match["tgt"]), "nllb", None)
    if src is None or tgt is None:
        return None
    return src, tgt, match["source"].strip(), match["mt"].strip()


def translate_target(system: str, hints: dict[str, Any]) -> str | None:
    """The target language (NLLB code) of a translation request: from hints, else from "into <Language>"."""
    if hints.get("tgt_lang"):
        return str(hints["tgt_lang"])
    match = _TRANSLATE_INTO.search(system)
    lang = language_by_name(match["tgt"]) if match else None
    return lang.nllb if lang else None


def pairwise_parts(system: str, user: str) -> dict[str, str | None] | None:
    """The request, reference and two answers of a pairwise judge prompt, or None if it is not one."""
    if "[[A>>B]]" not in system + user:
        return None
    found = {name: (m.group(1) if (m := pattern.search(user)) else None) for name, pattern in _TAG.items()}
    if found["answer_A"] is None or found["answer_B"] is None:
        return None
    return found
