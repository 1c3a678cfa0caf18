"""Images inside chat requests: bytes, PIL images or paths, converted for HTTP, models and cache keys."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path
from typing import Any

from PIL import Image

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


def image_bytes(image: Any) -> bytes:
    """The encoded bytes of an image given as bytes, a path or a PIL image (PIL images are encoded as PNG)."""
    if isinstance(image, bytes | bytearray | memoryview):
        return bytes(image)
    if isinstance(image, str | Path):
        return Path(image).read_bytes()
    if isinstance(image, Image.Image):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    raise TypeError(f"an image must be bytes, a path or a PIL image, got {type(image).__name__}")


def image_pil(image: Any) -> Image.Image:
    """The image as an RGB PIL image."""
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    with Image.open(io.BytesIO(image_bytes(image))) as opened:
        return opened.convert("RGB")


def mime_type(data: bytes) -> str:
    """The MIME type of encoded image bytes, from their magic number (PNG when unknown: servers decode by content)."""
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/png"


def data_url(image: Any) -> str:
    """A ``data:`` URL carrying the image, as OpenAI-compatible servers accept in ``image_url`` parts."""
    data = image_bytes(image)
    return f"data:{mime_type(data)};base64,{base64.b64encode(data).decode('ascii')}"


def canonical_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages as plain JSON with every image replaced by the SHA-256 of its bytes (for cache keys)."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            parts = []
            for part in content:
                if part.get("type") == "image":
                    digest = hashlib.sha256(image_bytes(part["image"])).hexdigest() if "image" in part else None
                    parts.append({"type": "image", "sha256": digest})
                else:
                    parts.append(dict(part))
            content = parts
        out.append({**message, "content": content})
    return out
