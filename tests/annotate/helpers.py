"""Helpers for the annotation tests: small datasets, and a scripted teacher that answers every step's prompt."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

from PIL import Image

from ayavision.testing.openai_server import last_user_text

QUESTIONS = ["What colour is the shape?", "How many sides does it have?", "Where is the shape?", "Is it large?"]


def make_dataset(root: Path, n: int = 12, *, tasks: tuple[str, ...] = ("vqa", "chart", "ocr")) -> Path:
    """``n`` records over three colours of image, one JSONL file; a multi-turn record every fifth."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    colours = ["red", "green", "blue"]
    for colour in colours:
        Image.new("RGB", (8, 6), colour).save(root / "images" / f"{colour}.png")
    rows = []
    for i in range(n):
        colour = colours[i % 3]
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTIONS[i % 4]}]},
            {"role": "assistant", "content": [{"type": "text", "text": f"{colour.title()}, item {i}."}]},
        ]
        if i % 5 == 4:
            messages += [
                {"role": "user", "content": [{"type": "text", "text": "And its size?"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "Small."}]},
            ]
        rows.append(
            {
                "id": f"toy/{i:04d}",
                "images": [f"images/{colour}.png"],
                "messages": messages,
                "language": "eng_Latn",
                "task": tasks[i % len(tasks)],
                "source": "toy",
                "bucket": "original",
                "meta": {},
            }
        )
    path = root / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def png_bytes(colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def teacher(body: dict[str, Any]) -> str:
    """Answers recaption, judge, translate and rephrase prompts of the built-in templates, deterministically."""
    text = last_user_text(body)
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    if system.startswith("Translate the user's text"):
        target = re.search(r"into (.+?)\.", system).group(1)  # type: ignore[union-attr]
        return f"[{target}] {text}"
    if "Machine translation (" in text:
        mt = text.split("Machine translation (", 1)[1].split("\n", 1)[1].split("\n\nRewrite", 1)[0].strip()
        return f"<translation>{mt} (polished)</translation>"
    if "Reply with one word: YES or NO" in text:
        original = re.search(r"Correct short answer: (.*)", text).group(1)  # type: ignore[union-attr]
        # Disagrees with originals that mention item 7: the judge drops those.
        return "NO" if "item 7" in original else "YES"
    match = re.search(r"(?:Reference answer|Short caption|Correct final answer): (.*)", text)
    reference = match.group(1) if match else "?"
    if "item 3" in reference:  # a teacher that refuses on some records: the rules catch it
        return "<answer>I'm sorry, I cannot help with that image.</answer>"
    seed = "" if body.get("seed") is None else f" try {body['seed']}"
    return f"<answer>Looking closely at the picture, the answer is {reference} Detail {_digest(text)}{seed}.</answer>"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
