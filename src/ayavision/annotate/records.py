"""Record helpers the steps share: JSON that carries image bytes, images for requests, turns, provenance."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ayavision.data import ConversationRecord, read_image_bytes, validate_record
from ayavision.data.record import EmbeddedImage


def record_to_json(record: ConversationRecord) -> dict[str, Any]:
    """The record as JSON-safe data; embedded image bytes become base64 (``{"b64": ..., "path": ...}``)."""
    data = record.to_dict()
    data["images"] = [
        image if isinstance(image, str) else {"b64": base64.b64encode(image.bytes).decode("ascii"), "path": image.path}
        for image in record.images
    ]
    return data


def record_from_json(data: dict[str, Any]) -> ConversationRecord:
    images = [
        image if isinstance(image, str) else {"bytes": base64.b64decode(image["b64"]), "path": image.get("path")}
        for image in data.get("images", [])
    ]
    return validate_record({**data, "images": images})


def image_bytes_of(record: ConversationRecord, root: str | Path | None) -> list[bytes]:
    """The encoded bytes of each image of the record (files read safely under the dataset root)."""
    out = []
    for image in record.images:
        if isinstance(image, EmbeddedImage):
            out.append(image.bytes)
        else:
            if root is None:
                raise ValueError(f"record {record.id!r} names image files but no dataset root is known")
            out.append(read_image_bytes(root, image))
    return out


def user_content(images: list[bytes], text: str) -> list[dict[str, Any]]:
    """A user turn for a request: the images first, then the text (the Aya chat layout)."""
    return [*({"type": "image", "image": image} for image in images), {"type": "text", "text": text}]


def assistant_turns(record: ConversationRecord) -> list[tuple[int, str, str]]:
    """``(message index, instruction, answer)`` for each assistant turn; the instruction is the user turn before it."""
    turns = []
    instruction = ""
    for index, message in enumerate(record.messages):
        if message.role == "user":
            instruction = message.text()
        elif message.role == "assistant":
            turns.append((index, instruction, message.text()))
    return turns


def with_texts(record: ConversationRecord, texts: dict[tuple[int, int], str], **update: Any) -> ConversationRecord:
    """A copy whose text parts ``(message index, part index)`` are replaced; image parts stay where they are."""
    messages = []
    for m_index, message in enumerate(record.messages):
        content = [
            part.model_copy(update={"text": texts[(m_index, p_index)]}) if (m_index, p_index) in texts else part
            for p_index, part in enumerate(message.content)
        ]
        messages.append(message.model_copy(update={"content": content}))
    return record.model_copy(update={"messages": messages, **update})


def text_parts(record: ConversationRecord, roles: tuple[str, ...] = ("system", "user", "assistant")) -> list:
    """``((message index, part index), text)`` of every text part in turns of the given roles."""
    return [
        ((m_index, p_index), part.text)
        for m_index, message in enumerate(record.messages)
        if message.role in roles
        for p_index, part in enumerate(message.content)
        if part.type == "text" and part.text is not None
    ]


def provenance(record: ConversationRecord, step: str, **facts: Any) -> dict[str, Any]:
    """The record's meta with this step appended to ``steps`` and ``facts`` merged in (``parent_id`` kept)."""
    meta = dict(record.meta)
    meta.setdefault("parent_id", record.id)
    meta["steps"] = [*meta.get("steps", []), step]
    meta.update(facts)
    return meta
