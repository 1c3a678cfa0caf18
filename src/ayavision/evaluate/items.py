"""A benchmark item in one shape for every benchmark, with its images kept as undecoded bytes or paths."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from PIL import Image

from ayavision.data.images import DEFAULT_MAX_PIXELS, open_image

# The built-in metrics; plug-ins add their own with ``register_metric`` (ayavision.evaluate.metrics).
Metric = Literal["choice", "exact", "contains"] | str


@dataclass(frozen=True)
class ImageRef:
    """One image of an item: embedded bytes (Parquet, dataset folders) or a file under the data root (JSONL)."""

    data: bytes | None = None
    path: Path | None = None
    label: str = "image"

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        try:
            return self.path.read_bytes()
        except OSError as err:
            raise FileNotFoundError(f"{self.label}: cannot read image file {self.path} ({err.strerror})") from None

    def open(self, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
        return open_image(self.read_bytes(), label=self.label, max_pixels=max_pixels).convert("RGB")

    def digest(self) -> str:
        """A short content hash: part of the judge's cache key, so a changed image is judged again."""
        return hashlib.sha256(self.read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class BenchItem:
    """One question of a benchmark.

    ``prompt`` is what the model is asked (for multiple choice: the question, the lettered options and the
    instruction); ``question`` is the item's own text, which the judge sees. Academic items carry ``metric``
    and their gold answer: ``answer_index`` into ``choices`` for multiple choice, else ``answers``.
    """

    id: str
    bench: str
    language: str  # NLLB code
    prompt: str
    question: str
    images: tuple[ImageRef, ...] = ()
    reference: str | None = None
    category: str | None = None
    metric: Metric | None = None
    choices: tuple[str, ...] = ()
    answer_index: int | None = None
    answers: tuple[str, ...] = ()
    where: str = ""  # FILE:LINE it was read from
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def has_images(self) -> bool:
        return bool(self.images)
