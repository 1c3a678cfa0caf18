"""The judge's side of the conversation: its prompt (from ``judge_prompt.txt``) and reading its verdict back.

The five verdicts, from the point of view of the answer shown first (slot A): ``A>>B`` (+2), ``A>B`` (+1),
``A=B`` (0), ``B>A`` (-1), ``B>>A`` (-2). ``parse_verdict`` accepts the labels with spaces inside, full-width
brackets, ``≫`` and mirrored forms (``B<A``), and returns ``None`` when a reply holds no label or labels that
disagree: an unreadable verdict is never taken for a tie.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from ayavision.errors import ConfigError

VERDICTS: dict[str, int] = {"A>>B": 2, "A>B": 1, "A=B": 0, "B>A": -1, "B>>A": -2}
_BY_VALUE = {value: label for label, value in VERDICTS.items()}
_LABEL = re.compile(r"\[\[\s*([AB])\s*(>>|>|=|<<|<)\s*([AB])\s*\]\]")
_SECTION = re.compile(r"^### (\w+)\n", re.MULTILINE)


def parse_verdict(reply: str) -> str | None:
    """The one verdict label in ``reply`` (normalised, e.g. ``"B>A"``), or ``None``."""
    text = unicodedata.normalize("NFKC", reply).replace("≫", ">>").replace("≪", "<<")
    found = set()
    for left, op, right in _LABEL.findall(text):
        if left == right:
            continue  # "[[A>A]]" compares nothing
        strength = 2 if op in (">>", "<<") else 1
        if op == "=":
            found.add(0)
        else:
            a_wins = (left == "A") == (op.startswith(">"))
            found.add(strength if a_wins else -strength)
    if len(found) != 1:
        return None
    return _BY_VALUE[found.pop()]


@dataclass(frozen=True)
class JudgePrompt:
    """The judge's prompt template, split into its sections; ``sha`` identifies the wording in cache keys."""

    system: str
    user: Template
    images: str
    reference: Template
    retry: str
    sha: str

    @classmethod
    def load(cls, text: str | None = None) -> JudgePrompt:
        """Parse a template text; by default the packaged ``judge_prompt.txt``."""
        if text is None:
            text = resources.files("ayavision.evaluate").joinpath("judge_prompt.txt").read_text(encoding="utf-8")
        parts = _SECTION.split(text)
        sections = {name: body.strip("\n") for name, body in zip(parts[1::2], parts[2::2], strict=True)}
        missing = {"system", "user", "images", "reference", "retry"} - sections.keys()
        if missing:
            raise ConfigError(f"judge prompt template lacks section(s): {', '.join(sorted(missing))}")
        return cls(
            system=sections["system"],
            user=Template(sections["user"]),
            images=sections["images"],
            reference=Template(sections["reference"]),
            retry=sections["retry"],
            sha=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
        )

    def messages(
        self, question: str, answer_a: str, answer_b: str, images: list[bytes], reference: str | None
    ) -> list[dict[str, Any]]:
        """The chat for one game: system prompt, then the images (if any) and the filled-in user template."""
        reference_block = self.reference.substitute(reference=reference.strip()) + "\n" if reference else ""
        text = self.user.substitute(
            images_note=self.images + "\n" if images else "",
            question=question.strip(),
            reference_block=reference_block,
            answer_a=answer_a.strip(),
            answer_b=answer_b.strip(),
        )
        content: list[dict[str, Any]] = [{"type": "image", "image": data} for data in images]
        content.append({"type": "text", "text": text})
        return [{"role": "system", "content": self.system}, {"role": "user", "content": content}]

    def retry_messages(self, first: list[dict[str, Any]], reply: str) -> list[dict[str, Any]]:
        """The same chat, the unreadable reply, and the request to answer with a label only."""
        return [*first, {"role": "assistant", "content": reply}, {"role": "user", "content": self.retry}]
