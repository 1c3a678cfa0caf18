"""Read the parts of a model's answer the steps need: text inside tags, and a judge's YES/NO."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Tagged:
    status: Literal["ok", "missing", "unclosed", "empty"]
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def extract_tag(answer: str, tag: str) -> Tagged:
    """The text inside the last complete ``<tag>...</tag>`` pair that is not empty.

    The last pair, because models sometimes echo the instruction ("between <answer> and </answer>")
    before answering. ``unclosed`` means an opening tag with no closing one after it: usually a cut answer.
    """
    opening, closing = f"<{tag}>", f"</{tag}>"
    pairs = re.findall(re.escape(opening) + r"(.*?)" + re.escape(closing), answer, flags=re.DOTALL)
    filled = [p.strip() for p in pairs if p.strip()]
    if filled:
        return Tagged("ok", filled[-1])
    last_open = answer.rfind(opening)
    if last_open >= 0 and closing not in answer[last_open:]:
        return Tagged("unclosed", answer[last_open + len(opening) :].strip())
    return Tagged("empty" if pairs else "missing")


_VERDICT = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def parse_verdict(answer: str) -> bool | None:
    """True for YES, False for NO (the first one said), None when the answer holds neither."""
    match = _VERDICT.search(answer)
    if match is None:
        return None
    return match.group(1).lower() == "yes"
