"""Small benchmarks, answers files and scripted judges built at test time."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from ayavision.backends.base import Backend, ChatRequest, ChatResponse


def png(colour: str = "red", size: tuple[int, int] = (24, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def aya_rows(language: str, count: int, two_images_every: int = 3) -> list[dict[str, Any]]:
    """Rows in the AyaVisionBench schema; every ``two_images_every``-th is a two-image difference task."""
    rows = []
    for index in range(count):
        images = [{"bytes": png("red"), "path": f"{index}.png"}]
        if index % two_images_every == 0:
            images.append({"bytes": png("blue"), "path": f"{index}b.png"})
        rows.append(
            {
                "image": images,
                "image_source": "test",
                "image_source_category": "difference" if len(images) == 2 else "vqa",
                "index": index,
                "prompt": f"[{language}] What is in picture {index}?",
                "reference": f"reference {index}",
                "language": language,
            }
        )
    return rows


def aya_bench(root: Path, languages: tuple[str, ...] = ("eng_Latn", "fra_Latn"), count: int = 4) -> Path:
    """An AyaVisionBench-shaped folder: one config folder per language, as a hub download leaves it."""
    for language in languages:
        write_parquet(root / language / "test-00000-of-00001.parquet", aya_rows(language, count))
    return root


def answers_file(
    path: Path,
    answers: dict[str, str],
    *,
    bench: str = "aya-vision-bench",
    model: str = "m",
    language: Callable[[str], str] = lambda item_id: item_id.split("/")[0],
    data: str | None = None,
) -> Path:
    rows = [
        {
            "id": item_id,
            "bench": bench,
            "language": language(item_id),
            "prompt": f"prompt of {item_id}",
            "answer": answer,
            "finish_reason": "stop",
            "prompt_tokens": None,
            "completion_tokens": None,
            "model": {"backend": "test", "model": model},
            "generation": {"max_new_tokens": 16, "temperature": 0.0, "top_p": None, "seed": None},
            "data": data,
        }
        for item_id, answer in answers.items()
    ]
    return write_jsonl(path, rows)


_SLOT = re.compile(r"<answer_([AB])>\n(.*?)\n</answer_\1>", re.DOTALL)
_REFERENCE = re.compile(r"<reference_answer>\n(.*?)\n</reference_answer>", re.DOTALL)


def first_user_text(messages: list[dict[str, Any]]) -> str:
    for message in messages:
        if message["role"] != "user":
            continue
        content = message["content"]
        if isinstance(content, str):
            return content
        return "\n".join(part.get("text", "") for part in content if part.get("type") == "text")
    return ""


def slots(messages: list[dict[str, Any]]) -> tuple[str, str, str | None]:
    """(answer in slot A, answer in slot B, reference or None) from the judge's prompt."""
    text = first_user_text(messages)
    found = dict(_SLOT.findall(text))
    reference = _REFERENCE.search(text)
    return found["A"], found["B"], reference.group(1) if reference else None


def prefer_first(messages: list[dict[str, Any]]) -> str:
    return "Slot A reads better.\n[[A>B]]"


def prefer_correct(messages: list[dict[str, Any]]) -> str:
    """A judge that knows the truth: the answer equal to the reference wins; both right or both wrong tie."""
    first, second, reference = slots(messages)
    a_ok, b_ok = first == reference, second == reference
    if a_ok == b_ok:
        return "Both equally good or equally wrong. [[A=B]]"
    return "[[A>>B]]" if a_ok else "[[B>>A]]"


class ScriptedJudge(Backend):
    """An in-process backend whose replies come from ``decide(messages)``; records every request."""

    name = "scripted"

    def __init__(self, decide: Callable[[list[dict[str, Any]]], str], label: str = "scripted-judge") -> None:
        self.decide = decide
        self.label = label
        self.requests: list[ChatRequest] = []

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        return ChatResponse(text=self.decide(request.messages), finish_reason="stop")

    def identity(self) -> dict[str, Any]:
        return {"backend": "scripted", "model": self.label}
