"""Reading and writing records: JSONL, Parquet shards, image loading and its safety checks, atomicity."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from ayavision.data import (
    ConversationRecord,
    DataError,
    ImageDecodeError,
    ImageNotFoundError,
    ImageTooLargeError,
    InvalidRecordError,
    ParseError,
    UnsafeImagePathError,
    iter_raw_records,
    load_images,
    open_image,
    output_format,
    read_records,
    validate_dataset,
    validate_record,
    write_jsonl,
    write_parquet_shards,
)
from ayavision.utils.fs import OutputExistsError

from .helpers import bomb_png, image_bytes, make_image, record, write_jsonl_lines


def test_jsonl_locations_are_one_based_lines_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "a"}\n\n{"id": \n[1]\n{"id": "b"}\n', encoding="utf-8")
    items = list(iter_raw_records(path))
    assert [(loc.line, loc.row) for loc, _ in items] == [(1, None), (3, None), (4, None), (5, None)]
    assert items[0][1] == {"id": "a"}
    assert isinstance(items[1][1], ParseError) and items[1][1].message.startswith("invalid JSON")
    assert items[2][1] == ParseError("expected a JSON object, got list")
    assert str(items[3][0]) == f"{path}:5"


def test_invalid_utf8_is_a_problem_of_its_line_only(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"id": "\xff"}\n{"id": "ok"}\n')
    items = list(iter_raw_records(path))
    assert isinstance(items[0][1], ParseError) and "UTF-8" in items[0][1].message
    assert items[1][1] == {"id": "ok"}


def test_folder_of_shards_is_read_in_sorted_order(tmp_path: Path) -> None:
    write_jsonl_lines(tmp_path / "b.jsonl", [{"id": "b"}])
    write_jsonl_lines(tmp_path / "a.jsonl", [{"id": "a1"}, {"id": "a2"}])
    pq.write_table(pa.Table.from_pylist([{"id": "c"}]), tmp_path / "c.parquet")
    (tmp_path / "notes.txt").write_text("not a shard")
    items = list(iter_raw_records(tmp_path))
    assert [raw["id"] for _, raw in items] == ["a1", "a2", "b", "c"]
    assert [(loc.file.name, loc.line, loc.row) for loc, _ in items] == [
        ("a.jsonl", 1, None),
        ("a.jsonl", 2, None),
        ("b.jsonl", 1, None),
        ("c.parquet", None, 0),
    ]
    assert str(items[3][0]).endswith("c.parquet:row 0")


def test_missing_or_empty_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        list(iter_raw_records(tmp_path / "nope.jsonl"))
    with pytest.raises(DataError, match=re.escape("holds no .jsonl or .parquet files")):
        list(iter_raw_records(tmp_path))
    (tmp_path / "x.csv").write_text("id\n")
    with pytest.raises(DataError, match=re.escape("unsupported file type '.csv'")):
        list(iter_raw_records(tmp_path / "x.csv"))


def test_read_records_names_file_and_line_of_the_first_bad_record(make_dataset) -> None:
    bad = record("second", task="poetry")
    path = make_dataset([record("first"), bad])
    records = read_records(path)
    assert next(records).id == "first"
    with pytest.raises(InvalidRecordError) as caught:
        next(records)
    assert str(caught.value).startswith(f"{path}:2: [second] task: unknown task 'poetry'")


def test_write_jsonl_round_trips_and_refuses_to_overwrite(good_dataset: Path, tmp_path: Path) -> None:
    records = list(read_records(good_dataset))
    out = tmp_path / "copy" / "out.jsonl"
    assert write_jsonl(records, out) == 4
    assert list(read_records(out)) == records
    assert json.loads(out.read_text(encoding="utf-8").splitlines()[2])["messages"][1]["content"] == [
        {"type": "text", "text": "Bonjour."}
    ]
    with pytest.raises(OutputExistsError):
        write_jsonl(records[:1], out)
    write_jsonl(records[:1], out, overwrite=True)
    assert len(out.read_text().splitlines()) == 1


def test_a_failing_jsonl_write_leaves_no_file(good_dataset: Path, tmp_path: Path) -> None:
    records = list(read_records(good_dataset))

    def records_then_crash() -> Iterator[ConversationRecord]:
        yield from records
        raise RuntimeError("upstream step failed")

    out = tmp_path / "out" / "partial.jsonl"
    with pytest.raises(RuntimeError):
        write_jsonl(records_then_crash(), out)
    assert list(out.parent.iterdir()) == []  # neither the file nor a temporary

    embedded = validate_record(record("e", images=[{"bytes": image_bytes(), "path": "e.png"}]))
    with pytest.raises(DataError, match="embeds image bytes"):
        write_jsonl([records[0], embedded], out)
    assert list(out.parent.iterdir()) == []


def test_load_images_from_paths_and_bytes(good_dataset: Path) -> None:
    records = list(read_records(good_dataset))
    multi = records[1]
    images = load_images(multi, good_dataset.parent)
    assert [(im.size, im.getpixel((0, 0))[:3]) for im in images] == [((8, 6), (255, 0, 0)), ((10, 4), (0, 0, 254))]
    embedded = validate_record(record("e", images=[{"bytes": image_bytes((3, 2), "green"), "path": None}]))
    assert load_images(embedded)[0].size == (3, 2)
    with pytest.raises(DataError, match="no dataset root"):
        load_images(multi)


@pytest.mark.parametrize("path", ["../outside.png", "images/../../outside.png", "/etc/hostname", "C:\\x.png"])
def test_load_images_refuses_paths_leaving_the_root(tmp_path: Path, path: str) -> None:
    make_image(tmp_path / "outside.png")
    root = tmp_path / "dataset"
    root.mkdir()
    with pytest.raises(UnsafeImagePathError):
        load_images(validate_record(record("r", images=[path])), root)


def test_load_images_refuses_decompression_bombs(tmp_path: Path) -> None:
    (tmp_path / "bomb.png").write_bytes(bomb_png(100_000, 100_000))
    with pytest.raises(ImageTooLargeError, match="10000000000 pixels, over the limit of 268435456"):
        load_images(validate_record(record("r", images=["bomb.png"])), tmp_path)
    make_image(tmp_path / "small.png", (20, 20))
    small = validate_record(record("r", images=["small.png"]))
    with pytest.raises(ImageTooLargeError, match="400 pixels, over the limit of 399"):
        load_images(small, tmp_path, max_pixels=399)
    assert load_images(small, tmp_path, max_pixels=400)[0].size == (20, 20)
    # The limit is per call: PIL's own global is left as it was.
    assert Image.MAX_IMAGE_PIXELS not in (399, 400)


def test_load_images_reports_missing_and_undecodable_files(tmp_path: Path) -> None:
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageNotFoundError, match=re.escape("'gone.png' not found")):
        load_images(validate_record(record("r", images=["gone.png"])), tmp_path)
    with pytest.raises(ImageDecodeError, match=re.escape("cannot decode 'text.png'")):
        load_images(validate_record(record("r", images=["text.png"])), tmp_path)
    truncated = image_bytes((64, 64), fmt="PNG")[:60]
    with pytest.raises(ImageDecodeError):
        load_images(validate_record(record("r", images=[{"bytes": truncated, "path": None}])))


def test_parquet_shards_round_trip_through_datasets(good_dataset: Path, tmp_path: Path) -> None:
    from datasets import load_dataset

    records = list(read_records(good_dataset))
    out = tmp_path / "shards"
    shards = write_parquet_shards(records, out, good_dataset.parent, rows_per_shard=3)
    names = ["data-00000-of-00002.parquet", "data-00001-of-00002.parquet"]
    assert [p.name for p in shards] == names
    assert sorted(p.name for p in out.iterdir()) == names

    loaded = load_dataset("parquet", data_files=[str(p) for p in shards], split="train", cache_dir=str(tmp_path / "c"))
    assert len(loaded) == 4
    row = loaded[1]
    assert [type(im).__module__.split(".")[0] for im in row["images"]] == ["PIL", "PIL"]
    assert [im.size for im in row["images"]] == [(8, 6), (10, 4)]
    assert row["messages"][0]["content"][0] == {"type": "image", "text": None}
    assert loaded[0]["meta"] == {"parent": "x", "steps": ["recaption"]}

    # Our own reader gives back the same records, with the image bytes embedded.
    again = list(read_records(out))
    assert [r.id for r in again] == [r.id for r in records]
    for original, copy in zip(records, again, strict=True):
        assert copy.messages == original.messages and copy.meta == original.meta
        assert [im.path for im in copy.images] == original.images
        assert [im.bytes for im in copy.images] == [(good_dataset.parent / p).read_bytes() for p in original.images]
    assert validate_dataset(out).ok


def test_parquet_bad_row_is_located_by_row(good_dataset: Path, tmp_path: Path) -> None:
    records = [r.to_dict() for r in read_records(good_dataset)]
    records[2]["language"] = "xx"
    rows = [{**r, "images": [], "meta": json.dumps(r["meta"])} for r in records]
    for row in rows:
        row["messages"][0]["content"] = [p for p in row["messages"][0]["content"] if p["type"] == "text"]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    report = validate_dataset(tmp_path / "d.parquet")
    assert [(p.row, p.record_id, p.message.split(":")[0]) for p in report.problems] == [(2, "good/text", "language")]
    assert str(report.problems[0]).startswith(f"{tmp_path / 'd.parquet'}:row 2: [good/text] language:")


def test_unreadable_parquet_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    write_jsonl_lines(tmp_path / "fine.jsonl", [record("ok", images=[])])
    report = validate_dataset(tmp_path)
    assert report.records_checked == 1
    assert len(report.problems) == 1
    assert report.problems[0].file.name == "broken.parquet"
    assert "cannot read Parquet file" in report.problems[0].message


def test_failing_parquet_write_leaves_no_folder(good_dataset: Path, tmp_path: Path) -> None:
    records = list(read_records(good_dataset))
    records.append(validate_record(record("gone", images=["images/gone.png"])))
    out = tmp_path / "shards"
    with pytest.raises(DataError, match=re.escape("record 'gone': image file 'images/gone.png' not found")):
        write_parquet_shards(records, out, good_dataset.parent, rows_per_shard=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good"]  # no output, no temporary folder


def test_parquet_shard_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        write_parquet_shards([], tmp_path / "x", rows_per_shard=0)
    empty = write_parquet_shards([], tmp_path / "empty")
    assert [p.name for p in empty] == ["data-00000-of-00001.parquet"]
    assert list(iter_raw_records(tmp_path / "empty")) == []
    with pytest.raises(OutputExistsError):
        write_parquet_shards([], tmp_path / "empty")
    text_only = [validate_record(record(f"t{i}", images=[])) for i in range(5)]
    shards = write_parquet_shards(text_only, tmp_path / "empty", rows_per_shard=2, overwrite=True)
    assert [pq.ParquetFile(p).metadata.num_rows for p in shards] == [2, 2, 1]


def test_a_limit_above_pils_default_is_honoured() -> None:
    """10000 x 10000 is over PIL's own default limit but under ours: the header opens."""
    header_only = open_image(bomb_png(10_000, 10_000), decode=False)
    assert header_only.size == (10_000, 10_000)
    with pytest.raises(ImageTooLargeError):
        open_image(bomb_png(10_000, 10_000), decode=False, max_pixels=99_999_999)


def test_output_format() -> None:
    assert output_format("a/b.jsonl") == "jsonl"
    assert output_format("a/shards") == "parquet"
    assert output_format("a/shards", "jsonl") == "jsonl"
    with pytest.raises(ValueError, match="unknown output format 'csv'"):
        output_format("a", "csv")
