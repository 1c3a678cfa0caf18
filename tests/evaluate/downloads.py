"""Benchmark folders laid out as ``hf download ... --repo-type dataset`` leaves the real ones, in miniature."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from .helpers import png, write_parquet

MAXM_LANGUAGES = ("en", "fr", "hi", "iw", "ro", "th", "zh")  # the 7 language splits of floschne/maxm


def mtvqa_row(index: int, split: str) -> dict[str, Any]:
    pairs = [{"question": f"{split} question {index}?", "answer": f"{split} answer {index}"}]
    return {"image": {"bytes": png(), "path": None}, "qa_pairs": json.dumps(pairs), "lang": "KR", "id": index}


def mtvqa_download(root: Path, test_rows: int = 2, train_shards: int = 2, train_rows: int = 3) -> Path:
    """ByteDance/MTVQA: ``data/test-*.parquet`` next to the (larger) ``data/train-*.parquet`` shards."""
    write_parquet(root / "data/test-00000-of-00001.parquet", [mtvqa_row(i, "test") for i in range(test_rows)])
    for shard in range(train_shards):
        rows = [mtvqa_row(100 + shard * train_rows + i, "train") for i in range(train_rows)]
        write_parquet(root / f"data/train-{shard:05d}-of-{train_shards:05d}.parquet", rows)
    return root


def maxm_row(lang: str, index: int, yes_no: bool = False) -> dict[str, Any]:
    return {
        "image": {"bytes": png(), "path": None},
        "question_id": f"{lang}{'_yn' if yes_no else ''}{index}",
        "question": "Is this a cat?" if yes_no else "What is this?",
        "answers": ["yes"] if yes_no else [f"answer {lang}"],
        "language": lang,
    }


def maxm_download(root: Path) -> Path:
    """floschne/maxm: ``data/{lang}-*.parquet`` for the 7 languages and ``data/{lang}_yesno-*.parquet`` beside them."""
    for lang in MAXM_LANGUAGES:
        write_parquet(root / f"data/{lang}-00000-of-00001.parquet", [maxm_row(lang, i) for i in range(2)])
        rows = [maxm_row(lang, i, yes_no=True) for i in range(3)]
        write_parquet(root / f"data/{lang}_yesno-00000-of-00001.parquet", rows)
    return root


def kaleidoscope_row(index: int, image: str | None) -> dict[str, Any]:
    return {
        "language": "es",
        "question": f"¿Pregunta {index}?",
        "options": ["uno", "dos", "tres", "cuatro"],
        "answer": index % 4,
        "image": image,
        "category_en": "science",
    }


KALEIDOSCOPE_IMAGES = {"exams/images/q0.png": png("red"), "exams/images/q1.png": png("blue", (8, 8))}


def kaleidoscope_download(root: Path, *, zipped: bool = True, extracted: bool = False) -> Path:
    """CohereLabs/kaleidoscope: rows naming ``data/<source>/images/x.png``; the pixels in ``data.zip`` under
    ``final_data/<source>/images/x.png`` (or, once extracted, in a ``final_data/`` folder)."""
    rows = [kaleidoscope_row(i, f"data/{name}") for i, name in enumerate(KALEIDOSCOPE_IMAGES)]
    rows.append(kaleidoscope_row(2, None))  # a text-only question
    write_parquet(root / "data/test-00000-of-00001.parquet", rows)
    if zipped:
        with zipfile.ZipFile(root / "data.zip", "w") as archive:
            archive.writestr("final_data/", b"")
            for name, data in KALEIDOSCOPE_IMAGES.items():
                archive.writestr(f"final_data/{name}", data)
    if extracted:
        for name, data in KALEIDOSCOPE_IMAGES.items():
            (root / "final_data" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "final_data" / name).write_bytes(data)
    return root


def cvqa_row(index: int, label: int) -> dict[str, Any]:
    return {
        "image": {"bytes": png(), "path": None},
        "ID": f"id{index}",
        "Subset": "('Japanese', 'Japan')",
        "Question": "何ですか",
        "Translated Question": "What?",
        "Options": ["猫", "犬", "鳥", "魚"],
        "Label": label,
        "Category": "c",
    }


def aya_vision_bench_earlier_revision(root: Path, language: str = "eng_Latn", count: int = 2) -> Path:
    """An earlier revision of CohereLabs/AyaVisionBench: ``question`` instead of ``prompt``, an integer ``index``."""
    rows = [
        {
            "image": [{"bytes": png(), "path": f"{index}.png"}],
            "image_source": "test",
            "image_source_category": "vqa",
            "index": index,
            "question": f"What is in picture {index}?",
            "reference": f"reference {index}",
            "language": language,
        }
        for index in range(count)
    ]
    write_parquet(root / language / "test-00000-of-00001.parquet", rows)
    return root


def as_dataset(rows: list[dict[str, Any]]) -> Any:
    """A ``datasets.Dataset`` of rows, their ``{bytes, path}`` images stored as plain bytes, for ``save_to_disk``."""
    import datasets

    return datasets.Dataset.from_list([{**row, "image": row["image"]["bytes"]} for row in rows])
