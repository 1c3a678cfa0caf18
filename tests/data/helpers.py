"""Helpers for the data tests: images made with PIL at test time, and raw records to break."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures"


def make_image(path: Path, size: tuple[int, int] = (8, 6), color: str = "red", fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, format=fmt)
    return path


def image_bytes(size: tuple[int, int] = (8, 6), color: str = "red", fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header claiming huge dimensions: costs a few bytes, would decode to gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def record(record_id: str, images: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    """A valid raw record with one image part per image, first in the user turn."""
    images = ["images/red.png"] if images is None else images
    raw = {
        "id": record_id,
        "images": images,
        "messages": [
            {"role": "user", "content": [*({"type": "image"} for _ in images), {"type": "text", "text": "What?"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "A red square."}]},
        ],
        "language": "eng_Latn",
        "task": "vqa",
        "source": "test",
        "bucket": "original",
        "meta": {},
    }
    raw.update(fields)
    return raw


def write_jsonl_lines(path: Path, rows: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path
