"""Small multimodal datasets for tests and benchmarks: coloured shapes with short answers, in a few languages."""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS = {"red": (220, 30, 30), "green": (30, 180, 60), "blue": (40, 60, 220), "yellow": (240, 210, 20)}
ANSWERS = {
    "eng_Latn": ("What colour is the shape?", "The shape is {c}."),
    "fra_Latn": ("De quelle couleur est la forme ?", "La forme est {c}."),
    "deu_Latn": ("Welche Farbe hat die Form?", "Die Form ist {c}."),
}


def make_dataset(
    folder: Path, n: int, languages=("eng_Latn",), bucket: str = "original", seed: int = 0, long_answers: bool = False
) -> Path:
    """Write `n` records (JSONL + PNGs of varied sizes) under `folder`; return the JSONL path."""
    rng = random.Random(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        colour = rng.choice(list(COLOURS))
        width, height = rng.choice([(64, 64), (130, 60), (40, 200), (200, 120)])
        image = Image.new("RGB", (width, height), "white")
        ImageDraw.Draw(image).ellipse((4, 4, width - 4, height - 4), fill=COLOURS[colour])
        name = f"images/{bucket}-{i}.png"
        image.save(folder / name)
        language = languages[i % len(languages)]
        question, answer = ANSWERS[language]
        answer = answer.format(c=colour)
        if long_answers:
            answer = " ".join([answer] * rng.randint(1, 6))
        lines.append(
            json.dumps(
                {
                    "id": f"{bucket}-{i}",
                    "images": [name],
                    "messages": [
                        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]},
                        {"role": "assistant", "content": [{"type": "text", "text": answer}]},
                    ],
                    "language": language,
                    "task": "vqa",
                    "source": "test",
                    "bucket": bucket,
                },
                ensure_ascii=False,
            )
        )
    path = folder / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
