"""The academic benchmarks load from the layouts their real downloads have: splits, archives, older revisions."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ayavision.evaluate import BenchmarkDataError, load_benchmark
from ayavision.evaluate.fields import ArchiveImageRef, parse_literal
from ayavision.evaluate.sources import SplitFilter, split_of

from .downloads import (
    KALEIDOSCOPE_IMAGES,
    MAXM_LANGUAGES,
    as_dataset,
    aya_vision_bench_earlier_revision,
    cvqa_row,
    kaleidoscope_download,
    maxm_download,
    maxm_row,
    mtvqa_download,
    mtvqa_row,
)
from .helpers import png, write_jsonl, write_parquet


@pytest.mark.parametrize(
    ("parts", "split"),
    [
        (["data", "test-00000-of-00001"], "test"),
        (["data", "train-00003-of-00010-5c2f0e1a"], "train"),  # older push_to_hub shard names carry a hash
        (["data", "en_yesno-00000-of-00001"], "en_yesno"),
        (["cvqa", "data", "test-0"], "test"),
        (["train", "part"], "train"),
        (["eng_Latn", "test-00000-of-00001"], "test"),
        (["eng_Latn", "bench"], None),  # a config folder is not a split
        (["translated_MMMU_val_300_with_image_Arabic"], None),
        (["mtvqa"], None),
    ],
)
def test_split_named_by_the_hub_naming(parts: list[str], split: str | None) -> None:
    assert split_of(parts) == split


def test_split_filter_keeps_what_it_cannot_tell() -> None:
    rule = SplitFilter(keep=("test",), why="scores test")
    assert rule.skip_reason(None) is None and rule.skip_reason("test") is None
    assert rule.skip_reason("train") == "in split 'train' (scores test)"
    assert SplitFilter(drop=("*_yesno",)).skip_reason("hi_yesno") == "in split 'hi_yesno' (not scored)"


def test_mtvqa_download_scores_the_test_split_only(tmp_path: Path) -> None:
    loaded = load_benchmark("mtvqa", mtvqa_download(tmp_path / "MTVQA"))
    assert [item.id for item in loaded.items] == ["kor_Hang/0/0", "kor_Hang/1/0"]
    assert all(item.question.startswith("test question") for item in loaded.items)
    assert loaded.skipped == {"in split 'train' (mtvqa scores the test split only)": 6}
    assert loaded.rows == 8  # every row of the download is accounted for
    assert "skipped 6 in split 'train' (mtvqa scores the test split only)" in loaded.summary()


def test_split_choice_can_be_overridden(tmp_path: Path) -> None:
    path = mtvqa_download(tmp_path / "MTVQA")
    train = load_benchmark("mtvqa", path, splits=["train"])
    assert len(train.items) == 6 and all(item.answers[0].startswith("train") for item in train.items)
    assert train.skipped == {"in split 'test' (not among the splits asked for)": 2}
    assert len(load_benchmark("mtvqa", path, splits=["*"]).items) == 8


def test_only_train_downloaded_reports_what_was_skipped(tmp_path: Path) -> None:
    write_parquet(tmp_path / "data/train-00000-of-00001.parquet", [mtvqa_row(0, "train")])
    with pytest.raises(BenchmarkDataError, match=r"no usable items for mtvqa .*skipped 1 in split 'train'"):
        load_benchmark("mtvqa", tmp_path)


def test_split_folders_and_saved_dataset_dicts_are_filtered_too(tmp_path: Path) -> None:
    import datasets

    (tmp_path / "folders").mkdir()
    (tmp_path / "folders/a.png").write_bytes(png())  # JSONL rows name their images by path
    write_jsonl(tmp_path / "folders/test/rows.jsonl", [{**mtvqa_row(0, "test"), "image": "a.png"}])
    write_jsonl(tmp_path / "folders/train/rows.jsonl", [{**mtvqa_row(i, "train"), "image": "a.png"} for i in (1, 2)])
    loaded = load_benchmark("mtvqa", tmp_path / "folders")
    assert [item.id for item in loaded.items] == ["kor_Hang/0/0"]
    assert loaded.skipped == {"in split 'train' (mtvqa scores the test split only)": 2}

    saved = datasets.DatasetDict(
        {"test": as_dataset([mtvqa_row(0, "test")]), "train": as_dataset([mtvqa_row(1, "train")])}
    )
    saved.save_to_disk(str(tmp_path / "saved"))
    loaded = load_benchmark("mtvqa", tmp_path / "saved")
    assert [item.id for item in loaded.items] == ["kor_Hang/0/0"]
    assert loaded.skipped == {"in split 'train' (mtvqa scores the test split only)": 1}


def test_maxm_hub_folder_without_its_yes_no_splits(tmp_path: Path) -> None:
    loaded = load_benchmark("maxm", maxm_download(tmp_path / "maxm"))
    ids = {item.id for item in loaded.items}
    assert not any("_yn" in item_id for item_id in ids)
    # Six of the seven languages are among the 23 (Thai is not): two questions each.
    languages = sorted({item.language for item in loaded.items})
    assert languages == ["eng_Latn", "fra_Latn", "heb_Hebr", "hin_Deva", "ron_Latn", "zho_Hans"]
    assert len(loaded.items) == 12 and all(item.answers[0].startswith("answer ") for item in loaded.items)
    reason = "in split '{}_yesno' (maxm scores the language splits, not the yes/no ones)"
    assert loaded.skipped == {"outside the 23 languages": 2, **{reason.format(lang): 3 for lang in MAXM_LANGUAGES}}


def test_maxm_saved_dataset_dict_drops_yes_no_splits(tmp_path: Path) -> None:
    import datasets

    saved = datasets.DatasetDict(
        {"hi": as_dataset([maxm_row("hi", 0)]), "hi_yesno": as_dataset([maxm_row("hi", 0, True)])}
    )
    saved.save_to_disk(str(tmp_path / "maxm"))
    loaded = load_benchmark("maxm", tmp_path / "maxm")
    assert [item.id for item in loaded.items] == ["hin_Deva/hi0"]
    assert sum(loaded.skipped.values()) == 1


def _xmmmu_row(options: str) -> dict:
    return {
        "id": "validation_Art_1",
        "question": "<image 1> Which one?",
        "options": options,
        "answer": "B",
        "question_type": "multiple-choice",
        "image_1": {"bytes": png(), "path": None},
    }


def test_xmmmu_options_with_raw_newlines_load(tmp_path: Path) -> None:
    rows = [_xmmmu_row("['A cat', 'A dog\nsitting', \"it's\nboth\"]"), _xmmmu_row("['x',\n 'y\\nz']")]
    rows[1]["id"] = "validation_Art_2"
    loaded = load_benchmark("xmmmu", write_parquet(tmp_path / "data/fr-00000-of-00001.parquet", rows))
    first, second = loaded.items
    # The newline stays in the option's text, as the dataset wrote it.
    assert first.choices == ("A cat", "A dog\nsitting", "it's\nboth") and first.answer_index == 1
    assert second.choices == ("x", "y\nz") and first.language == "fra_Latn"


def test_xmmmu_unparseable_options_name_file_row_and_field(tmp_path: Path) -> None:
    rows = [_xmmmu_row("['a', 'b']"), _xmmmu_row("['a', 'b\n")]
    rows[1]["id"] = "m2"
    path = write_parquet(tmp_path / "fr.parquet", rows)
    with pytest.raises(BenchmarkDataError, match=r"fr\.parquet:row 1: field 'options': expected a list, got text"):
        load_benchmark("xmmmu", path)


def test_parse_literal_escapes_breaks_inside_strings_only() -> None:
    assert parse_literal("['a\nb', 'c']") == ["a\nb", "c"]
    assert parse_literal('["a\nb"]') == ["a\nb"]  # JSON with a raw newline
    assert parse_literal("['a\\\\', 'b\nc']") == ["a\\", "b\nc"]  # an escaped backslash closes nothing
    assert parse_literal("['a', 'b") is None


def test_kaleidoscope_images_straight_from_data_zip(tmp_path: Path) -> None:
    loaded = load_benchmark("kaleidoscope", kaleidoscope_download(tmp_path / "kaleidoscope"))
    first, second, text_only = loaded.items
    assert isinstance(first.images[0], ArchiveImageRef) and first.images[0].data is None  # read lazily
    assert first.images[0].member == "final_data/exams/images/q0.png"
    assert first.images[0].read_bytes() == KALEIDOSCOPE_IMAGES["exams/images/q0.png"]
    assert second.images[0].open().size == (8, 8) and first.images[0].digest() != second.images[0].digest()
    assert not text_only.images and first.language == "spa_Latn" and second.answer_index == 1
    assert not (tmp_path / "kaleidoscope/final_data").exists()  # nothing was extracted


def test_kaleidoscope_extracted_final_data_folder(tmp_path: Path) -> None:
    root = kaleidoscope_download(tmp_path / "kaleidoscope", zipped=False, extracted=True)
    first = load_benchmark("kaleidoscope", root).items[0]
    assert first.images[0].path == root / "final_data/exams/images/q0.png"
    assert first.images[0].read_bytes() == KALEIDOSCOPE_IMAGES["exams/images/q0.png"]


def test_kaleidoscope_image_in_neither_place_names_row_and_paths(tmp_path: Path) -> None:
    root = kaleidoscope_download(tmp_path / "kaleidoscope")
    with zipfile.ZipFile(root / "data.zip", "w") as archive:
        archive.writestr("final_data/exams/images/q0.png", png())  # q1.png is missing
    with pytest.raises(BenchmarkDataError) as raised:
        load_benchmark("kaleidoscope", root)
    message = str(raised.value)
    assert "test-00000-of-00001.parquet:row 1: image: image file 'data/exams/images/q1.png' not found" in message
    assert "final_data/exams/images/q1.png in " in message and str(root / "final_data/exams/images/q1.png") in message


def test_archive_members_over_the_limit_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ayavision.evaluate import fields

    first = load_benchmark("kaleidoscope", kaleidoscope_download(tmp_path / "k")).items[0]
    monkeypatch.setattr(fields, "MAX_ARCHIVE_MEMBER_BYTES", 10)
    with pytest.raises(FileNotFoundError, match=r"row 0: image: cannot read final_data/exams/images/q0\.png .*over 10"):
        first.images[0].read_bytes()


def test_aya_vision_bench_earlier_revision(tmp_path: Path) -> None:
    loaded = load_benchmark("aya-vision-bench", aya_vision_bench_earlier_revision(tmp_path / "bench"))
    assert [item.id for item in loaded.items] == ["eng_Latn/0", "eng_Latn/1"]
    assert loaded.items[1].prompt == "What is in picture 1?" == loaded.items[1].question


def test_aya_vision_bench_missing_prompt_names_the_older_name(tmp_path: Path) -> None:
    row = {"image": [], "index": 1, "reference": "r", "language": "en"}
    with pytest.raises(BenchmarkDataError, match=r"also accepted: 'question' \(earlier revisions of CohereLabs/Aya"):
        load_benchmark("aya-vision-bench", write_jsonl(tmp_path / "b.jsonl", [row]))


def test_cvqa_revision_withholding_every_label_says_so(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "cvqa/data/test-00000-of-00001.parquet", [cvqa_row(i, -1) for i in range(3)])
    with pytest.raises(
        BenchmarkDataError, match=r"every one of the 3 row\(s\) has Label = -1: .* withholds its labels"
    ):
        load_benchmark("cvqa", tmp_path / "cvqa")
    with pytest.raises(BenchmarkDataError, match="use a revision or copy of CVQA that carries the labels"):
        load_benchmark("cvqa", path)


def test_cvqa_with_some_labels_still_loads(tmp_path: Path) -> None:
    rows = [cvqa_row(0, 2), cvqa_row(1, -1)]
    loaded = load_benchmark("cvqa", write_parquet(tmp_path / "cvqa/data/test-00000-of-00001.parquet", rows))
    assert [item.answer_index for item in loaded.items] == [2]
    assert loaded.skipped == {"without a gold answer": 1}
