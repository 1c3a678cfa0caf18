"""Importers: LLaVA-style JSON and the-Cauldron-style records, with every skipped input counted and explained."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ayavision.data import (
    DataError,
    import_cauldron,
    import_llava,
    load_images,
    read_records,
    rebase_image_paths,
    validate_dataset,
    write_jsonl,
    write_parquet_shards,
)
from ayavision.languages import UnknownLanguageError

from .helpers import image_bytes, make_image, write_jsonl_lines


def _turns(*pairs: str) -> list[dict[str, str]]:
    return [{"from": "human" if i % 2 == 0 else "gpt", "value": v} for i, v in enumerate(pairs)]


LLAVA = [
    {"id": "single", "image": "coco/1.png", "conversations": _turns("<image>\nWhat is this?", "A red square.")},
    {
        "id": "multi",
        "image": ["coco/1.png", "coco/2.png"],
        "conversations": _turns("<image>\n<image>\nCompare them.", "Red and blue.", "Which is bigger?", "Same."),
    },
    {"id": "no-marker", "image": "coco/2.png", "conversations": _turns("Describe.", "Blue.")},
    {"id": "text-only", "conversations": _turns("Hello?", "Hi.")},
    {"id": "no-conversations", "image": "coco/1.png"},
    {"id": "too-many-markers", "image": "coco/1.png", "conversations": _turns("<image><image> Two?", "One.")},
    {"id": "missing-image", "image": "coco/404.png", "conversations": _turns("<image>\nWhat?", "?")},
    {"id": "bad-speaker", "conversations": [{"from": "bot", "value": "hi"}]},
    "just a string",
    {"id": "marker-in-answer", "image": "coco/1.png", "conversations": _turns("<image>Q", "<image> A")},
    {"id": "escapes", "image": "../secret.png", "conversations": _turns("<image>Q", "A")},
    {"id": "empty-answer", "conversations": _turns("Q", "   ")},
    {"id": "single", "image": "coco/1.png", "conversations": _turns("<image>Again?", "Yes.")},
]


@pytest.fixture
def llava_json(tmp_path: Path) -> Path:
    make_image(tmp_path / "llava/coco/1.png", (8, 6), "red")
    make_image(tmp_path / "llava/coco/2.png", (12, 6), "blue")
    path = tmp_path / "llava/llava_sample.json"
    path.write_text(json.dumps(LLAVA), encoding="utf-8")
    return path


def test_import_llava(llava_json: Path) -> None:
    result = import_llava(llava_json, language="fr")
    by_id = {r.id: r for r in result.records}
    assert list(by_id) == [
        "llava_sample/single",
        "llava_sample/multi",
        "llava_sample/no-marker",
        "llava_sample/text-only",
    ]

    single = by_id["llava_sample/single"]
    assert single.images == ["coco/1.png"]
    assert single.messages[0].to_dict() == {
        "role": "user",
        "content": [{"type": "image"}, {"type": "text", "text": "What is this?"}],
    }
    assert (single.language, single.task, single.source, single.bucket) == (
        "fra_Latn",
        "vqa",
        "llava_sample",
        "original",
    )
    assert single.meta == {"importer": "llava", "input": "llava_sample.json", "index": 0, "original_id": "single"}

    multi = by_id["llava_sample/multi"]
    assert multi.images == ["coco/1.png", "coco/2.png"]
    assert [p.type for p in multi.messages[0].content] == ["image", "image", "text"]
    assert multi.messages[0].text() == "Compare them."
    assert [m.role for m in multi.messages] == ["user", "assistant", "user", "assistant"]
    assert multi.assistant_texts() == ["Red and blue.", "Same."]

    assert [p.type for p in by_id["llava_sample/no-marker"].messages[0].content] == ["image", "text"]
    text_only = by_id["llava_sample/text-only"]
    assert (text_only.images, text_only.task, text_only.bucket) == ([], "text", "text")


def test_import_llava_counts_and_explains_every_skip(llava_json: Path) -> None:
    result = import_llava(llava_json)
    assert result.skipped_count == 9
    assert len(result.records) + result.skipped_count == len(LLAVA)
    reasons = {s.where.rsplit("[", 1)[1].rstrip("]"): s.reason for s in result.skipped}
    assert reasons["4"] == "missing or empty 'conversations'"
    assert reasons["5"] == "2 <image> marker(s) but 1 image(s)"
    assert reasons["6"].startswith("image file 'coco/404.png' not found under")
    assert reasons["7"] == "conversations[0]: unknown speaker 'bot'"
    assert reasons["8"] == "expected an object, got str"
    assert reasons["9"] == "conversations[1]: an <image> marker in a non-user (assistant) turn"
    assert "escapes the dataset root" in reasons["10"]
    assert "messages[1].content: must not be empty" in reasons["11"]
    assert reasons["12"] == "duplicate id 'llava_sample/single'"
    assert result.skipped[0].where == f"{llava_json}[4]"


def test_imported_llava_writes_a_valid_jsonl_dataset(llava_json: Path) -> None:
    result = import_llava(llava_json)
    out = llava_json.parent / "records.jsonl"
    write_jsonl(rebase_image_paths(result.records, result.image_root, out.parent), out)
    report = validate_dataset(out)
    assert report.ok, [str(p) for p in report.problems]
    assert report.records_checked == 4


def test_import_llava_checks_its_defaults(llava_json: Path) -> None:
    with pytest.raises(UnknownLanguageError, match="unknown language code 'xx'"):
        import_llava(llava_json, language="xx")
    with pytest.raises(DataError, match="unknown task 'poetry'"):
        import_llava(llava_json, task="poetry")
    with pytest.raises(DataError, match="unknown bucket 'misc'"):
        import_llava(llava_json, bucket="misc")
    bad = llava_json.with_name("bad.json")
    bad.write_text('{"not": "a list"}')
    with pytest.raises(DataError, match="expected a JSON list of entries, got dict"):
        import_llava(bad)


def test_import_llava_from_jsonl_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    path.write_text(json.dumps(LLAVA[3]) + "\n{oops\n", encoding="utf-8")
    result = import_llava(path, source="sharegpt")
    assert [r.id for r in result.records] == ["sharegpt/text-only"]
    assert [(s.where, s.reason.split(":")[0]) for s in result.skipped] == [(f"{path}:2", "invalid JSON")]


def test_rebase_image_paths(llava_json: Path, tmp_path: Path) -> None:
    records = import_llava(llava_json).records
    rebased = rebase_image_paths(records, llava_json.parent, tmp_path)
    assert rebased[0].images == ["llava/coco/1.png"]
    assert records[0].images == ["coco/1.png"]  # the originals are left alone
    with pytest.raises(DataError, match="lie outside"):
        rebase_image_paths(records, llava_json.parent, tmp_path / "elsewhere")
    text_only = [r for r in records if not r.images]
    assert rebase_image_paths(text_only, llava_json.parent, tmp_path / "elsewhere") == text_only


CAULDRON_TEXTS = [
    [{"user": "What colour?", "assistant": "Red.", "source": "PlotQA"}],
    [
        {"user": "Compare the two.", "assistant": "Red, then blue.", "source": "mimic"},
        {"user": "Which is wider?", "assistant": "The blue one.", "source": "mimic"},
    ],
    [{"user": "No answer here"}],  # malformed: skipped
    [{"user": "Broken image?", "assistant": "Yes."}],  # its image bytes are not an image: skipped
]


@pytest.fixture
def cauldron_parquet(tmp_path: Path) -> Path:
    red, blue = image_bytes((8, 6), "red"), image_bytes((12, 6), "blue", fmt="JPEG")
    images = [[red], [red, blue], [red], [b"not an image"]]
    rows = [
        {"images": [{"bytes": b, "path": None} for b in imgs], "texts": texts}
        for imgs, texts in zip(images, CAULDRON_TEXTS, strict=True)
    ]
    path = tmp_path / "in" / "chartqa.parquet"
    path.parent.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_import_cauldron_parquet_keeps_bytes_for_parquet_output(cauldron_parquet: Path, tmp_path: Path) -> None:
    from datasets import load_dataset

    result = import_cauldron(cauldron_parquet, task="chart")
    assert [r.id for r in result.records] == ["chartqa/0000000", "chartqa/0000001"]
    assert result.skipped_count == 2
    assert [s.where.rsplit(":", 1)[1] for s in result.skipped] == ["row 2", "row 3"]
    assert result.skipped[0].reason == "texts[0] needs string 'user' and 'assistant'"
    assert result.skipped[1].reason.startswith("cannot decode images[0]")

    multi = result.records[1]
    assert multi.has_embedded_images() and multi.task == "chart"
    assert [p.type for p in multi.messages[0].content] == ["image", "image", "text"]
    assert [p.type for p in multi.messages[2].content] == ["text"]
    assert multi.meta["cauldron_source"] == ["mimic"]
    assert [im.size for im in load_images(multi)] == [(8, 6), (12, 6)]

    shards = write_parquet_shards(result.records, tmp_path / "out")
    loaded = load_dataset("parquet", data_files=[str(p) for p in shards], split="train", cache_dir=str(tmp_path / "c"))
    assert [im.size for im in loaded[1]["images"]] == [(8, 6), (12, 6)]


def test_import_cauldron_writes_images_for_jsonl_output(tmp_path: Path) -> None:
    make_image(tmp_path / "in/pics/a.png", (8, 6), "red")
    make_image(tmp_path / "in/pics/b.jpg", (12, 6), "blue", fmt="JPEG")
    rows = [
        {"images": ["pics/a.png"], "texts": CAULDRON_TEXTS[0]},
        {"images": ["pics/a.png", "pics/b.jpg"], "texts": CAULDRON_TEXTS[1]},
        {"images": ["pics/missing.png"], "texts": CAULDRON_TEXTS[0]},
        {"images": "pics/a.png", "texts": CAULDRON_TEXTS[0]},
    ]
    source = write_jsonl_lines(tmp_path / "in/vqa.jsonl", rows)
    out = tmp_path / "out"
    result = import_cauldron(source, image_out=out, source="the cauldron/vqa", language="de")
    assert [s.reason.split(" under")[0] for s in result.skipped] == [
        "image file 'pics/missing.png' not found",
        "'images' must be a list",
    ]
    assert [s.where for s in result.skipped] == [f"{source}:3", f"{source}:4"]
    assert result.records[1].images == [
        "images/the_cauldron_vqa/0000001-0.png",
        "images/the_cauldron_vqa/0000001-1.jpg",
    ]
    assert result.records[1].language == "deu_Latn"
    assert (out / "images/the_cauldron_vqa/0000001-1.jpg").read_bytes() == (tmp_path / "in/pics/b.jpg").read_bytes()
    # Skipped entries leave no image files behind.
    assert sorted(p.name for p in (out / "images/the_cauldron_vqa").iterdir()) == [
        "0000000-0.png",
        "0000001-0.png",
        "0000001-1.jpg",
    ]
    write_jsonl(result.records, out / "vqa.jsonl")
    assert validate_dataset(out / "vqa.jsonl").ok
    assert [r.id for r in read_records(out / "vqa.jsonl")] == ["the cauldron/vqa/0000000", "the cauldron/vqa/0000001"]
