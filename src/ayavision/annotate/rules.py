"""Stage (a) of the filter: keyword rules for refusals, leaked prompt phrases, empty and truncated answers."""

from __future__ import annotations

import re

from ayavision.annotate.config import RulesConfig

# Said by a model that declines or cannot see; matched case-insensitively on word boundaries.
REFUSAL_PHRASES: tuple[str, ...] = (
    "i'm sorry",
    "i am sorry",
    "i apologize",
    "i apologise",
    "i cannot",
    "i can't",
    "i can not",
    "i am unable",
    "i'm unable",
    "i am not able",
    "i'm not able",
    "as an ai",
    "as a language model",
    "i do not have access",
    "i don't have access",
    "cannot see the image",
    "can't see the image",
    "no image was provided",
    "there is no image",
    "unable to view",
    "not possible to determine",
    "cannot be determined",
)

# Words of the recaption prompts that a good answer never repeats: the model is talking about its instructions.
PROMPT_PHRASES: tuple[str, ...] = (
    "reference answer",
    "short answer",
    "short caption",
    "given answer",
    "provided answer",
    "original answer",
    "correct final answer",
    "ground truth",
    "these instructions",
    "as instructed",
    "<answer>",
    "</answer>",
)


def _pattern(phrases: tuple[str, ...] | list[str]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    # \b does not anchor next to non-word characters such as '<', so only add it beside word characters.
    alternatives = []
    for phrase in phrases:
        escaped = re.escape(phrase.lower())
        left = r"\b" if phrase[:1].isalnum() else ""
        right = r"\b" if phrase[-1:].isalnum() else ""
        alternatives.append(left + escaped + right)
    return re.compile("|".join(alternatives))


class Rules:
    """Checks one answer; ``violation`` says why it must go, or None."""

    def __init__(self, config: RulesConfig | None = None) -> None:
        self.config = config or RulesConfig()
        self._refusal = _pattern([*REFUSAL_PHRASES, *self.config.refusal_phrases])
        self._prompt = _pattern([*PROMPT_PHRASES, *self.config.prompt_phrases])

    def violation(self, text: str, finish_reason: str | None = None) -> str | None:
        if len(text.split()) < max(self.config.min_words, 1) or not text.strip():
            return "empty answer"
        if self.config.drop_truncated and finish_reason == "length":
            return "truncated answer (cut at the token limit)"
        lowered = text.lower().replace("\u2019", "'")  # a curly apostrophe must not dodge "i can't"
        if self._refusal and (match := self._refusal.search(lowered)):
            return f"refusal ({match.group(0)!r})"
        if self._prompt and (match := self._prompt.search(lowered)):
            return f"repeats a prompt phrase ({match.group(0)!r})"
        return None
