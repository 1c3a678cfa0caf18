"""Benchmarks load from local files in every accepted layout; bad rows are named by file, row and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ayavision.evaluate import BenchmarkDataError, UnknownBenchmarkError, get_benchmark, load_benchmark
from ayavision.languages import UnknownLanguageError

from .helpers import aya_bench, aya_rows, png, write_jsonl, write_parquet


def test_aya_vision_bench_from_a_hub_style_folder(tmp_path: Path) -> None:
    loaded = load_benchmark("AyaVisionBench", aya_bench(tmp_path / "bench", count=4))
    assert len(loaded.items) == 8 and not loaded.skipped
    item = loaded.by_id()["fra_Latn/0"]
    assert item.language == "fra_Latn" and item.reference == "reference 0"
    assert len(item.images) == 2  # the difference task's two images
    assert len(loaded.by_id()["fra_Latn/1"].images) == 1
    assert item.images[0].open().size == (24, 16)
    assert item.category == "difference" and item.prompt == item.question


def test_jsonl_with_image_paths(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img/a.png").write_bytes(png())
    row = {
        "image": ["img/a.png"],
        "image_source": "s",
        "image_source_category": "c",
        "index": 7,
        "prompt": "Was ist das?",
        "reference": "Ein Bild.",
        "language": "deu_Latn",
    }
    loaded = load_benchmark("aya-vision-bench", write_jsonl(tmp_path / "bench.jsonl", [row]))
    assert loaded.items[0].id == "deu_Latn/7"
    assert loaded.items[0].images[0].read_bytes() == png()


def test_missing_image_file_names_row_and_field(tmp_path: Path) -> None:
    row = {"image": ["img/nope.png"], "index": 1, "prompt": "?", "reference": "r", "language": "en"}
    path = write_jsonl(tmp_path / "bench.jsonl", [row])
    with pytest.raises(BenchmarkDataError, match=r"bench\.jsonl:1: image\[0\]: image file 'img/nope.png' not found"):
        load_benchmark("aya-vision-bench", path)


def test_missing_field_names_it(tmp_path: Path) -> None:
    rows = aya_rows("eng_Latn", 2)
    del rows[1]["prompt"]
    (tmp_path / "eng_Latn").mkdir()
    (tmp_path / "eng_Latn/a.png").write_bytes(png())
    for row in rows:
        row["image"] = ["a.png"]
    with pytest.raises(BenchmarkDataError, match=r"test\.jsonl:2: missing field 'prompt'; the row has: image"):
        load_benchmark("aya-vision-bench", write_jsonl(tmp_path / "eng_Latn/test.jsonl", rows))
    # Parquet gives every row every column: an absent value reads as null.
    with pytest.raises(BenchmarkDataError, match=r"test\.parquet:row 1: field 'prompt': is null"):
        load_benchmark("aya-vision-bench", write_parquet(tmp_path / "eng_Latn/test.parquet", rows))


def test_wrong_type_names_the_field(tmp_path: Path) -> None:
    rows = aya_rows("eng_Latn", 1)
    rows[0]["prompt"] = ["not", "text"]
    with pytest.raises(BenchmarkDataError, match=r"b\.jsonl:1: field 'prompt': expected text, got list"):
        load_benchmark("aya-vision-bench", write_jsonl(tmp_path / "b.jsonl", [{**rows[0], "image": []}]))


def test_unknown_language_in_a_pairwise_benchmark_is_an_error(tmp_path: Path) -> None:
    rows = aya_rows("swh_Latn", 1)
    with pytest.raises(BenchmarkDataError, match=r"field 'language': 'swh_Latn' is not one of the 23 languages"):
        load_benchmark("aya-vision-bench", write_parquet(tmp_path / "x.parquet", rows))


def test_unknown_benchmark_lists_the_known_ones() -> None:
    with pytest.raises(UnknownBenchmarkError, match="unknown benchmark 'mmmu'; known: aya-vision-bench"):
        get_benchmark("mmmu")


def test_arenahard_languages_from_iso_config_folders(tmp_path: Path) -> None:
    for code in ("fr", "ja"):
        rows = [{"question_id": f"q{i}", "category": "hard", "cluster": "c", "prompt": f"{code} {i}"} for i in range(3)]
        write_jsonl(tmp_path / "m-ArenaHard" / code / "test.jsonl", rows)
    loaded = load_benchmark("m-arenahard", tmp_path / "m-ArenaHard")
    assert sorted({item.language for item in loaded.items}) == ["fra_Latn", "jpn_Jpan"]
    assert loaded.by_id()["jpn_Jpan/q2"].prompt == "ja 2" and not loaded.items[0].images


def test_language_filter_and_unknown_filter_code(tmp_path: Path) -> None:
    path = aya_bench(tmp_path / "bench", count=2)
    loaded = load_benchmark("aya-vision-bench", path, languages=["fr"])
    assert {item.language for item in loaded.items} == {"fra_Latn"}
    assert loaded.skipped["not selected"] == 2
    with pytest.raises(UnknownLanguageError, match="unknown language code 'xx'"):
        load_benchmark("aya-vision-bench", path, languages=["xx"])


def test_cvqa_counts_what_it_skips(tmp_path: Path) -> None:
    def row(i: int, subset: str, label: int) -> dict:
        return {
            "image": {"bytes": png(), "path": None},
            "ID": f"id{i}",
            "Subset": subset,
            "Question": "何ですか",
            "Translated Question": "What?",
            "Options": ["猫", "犬", "鳥", "魚"],
            "Label": label,
            "Category": "c",
        }

    rows = [row(0, "('Japanese', 'Japan')", 1), row(1, "('Swahili', 'Kenya')", 0), row(2, "('Japanese', 'Japan')", -1)]
    loaded = load_benchmark("cvqa", write_parquet(tmp_path / "cvqa/data/test-0.parquet", rows))
    assert [item.id for item in loaded.items] == ["jpn_Jpan/id0"]
    item = loaded.items[0]
    assert item.metric == "choice" and item.answer_index == 1 and "B. 犬" in item.prompt
    assert loaded.skipped == {"outside the 23 languages": 1, "without a gold answer": 1}
    assert "skipped 1 outside the 23 languages, 1 without a gold answer" in loaded.summary()


def test_saved_dataset_dict_with_language_splits(tmp_path: Path) -> None:
    import datasets

    def rows(lang: str) -> dict:
        return {
            "question_id": [f"{lang}1"],
            "question": ["?"],
            "answers": [["כן"]],
            "language": [lang],
            "image": [{"bytes": png(), "path": None}],
        }

    features = datasets.Features(
        {
            "question_id": datasets.Value("string"),
            "question": datasets.Value("string"),
            "answers": datasets.Sequence(datasets.Value("string")),
            "language": datasets.Value("string"),
            "image": datasets.Image(),
        }
    )
    dd = datasets.DatasetDict(
        {lang: datasets.Dataset.from_dict(rows(lang), features=features) for lang in ("iw", "th")}
    )
    dd.save_to_disk(str(tmp_path / "maxm"))
    loaded = load_benchmark("maxm", tmp_path / "maxm")
    assert [item.id for item in loaded.items] == ["heb_Hebr/iw1"]  # "iw" is Hebrew's old code
    assert loaded.items[0].metric == "exact" and loaded.items[0].images[0].open().size == (24, 16)
    assert loaded.skipped["outside the 23 languages"] == 1  # Thai


def test_xmmmu_letters_literal_options_and_open_questions(tmp_path: Path) -> None:
    rows = [
        {
            "id": "m1",
            "question": "<image 1> Which?",
            "options": "['x', 'y', 'z']",
            "answer": "C",
            "question_type": "multiple-choice",
            "image_1": {"bytes": png(), "path": None},
            "image_2": None,
        },
        {
            "id": "m2",
            "question": "How many?",
            "options": "[]",
            "answer": "12",
            "question_type": "open",
            "image_1": {"bytes": png(), "path": None},
            "image_2": {"bytes": png("blue"), "path": None},
        },
    ]
    loaded = load_benchmark(
        "xmmmu", write_parquet(tmp_path / "translated_MMMU_val_300_with_image_Arabic.parquet", rows)
    )
    first, second = loaded.items
    assert first.language == "arb_Arab" and first.answer_index == 2 and len(first.images) == 1
    assert second.metric == "contains" and second.answers == ("12",) and len(second.images) == 2
    rows[0]["answer"] = "Q"
    with pytest.raises(BenchmarkDataError, match=r"row 0: field 'answer': expected an option letter A-C, got 'Q'"):
        load_benchmark("xmmmu", write_parquet(tmp_path / "ar.parquet", rows))


def test_mtvqa_expands_question_answer_pairs(tmp_path: Path) -> None:
    pairs = json.dumps([{"question": "무엇?", "answer": "사과"}, {"question": "가격?", "answer": "500원"}])
    rows = [{"image": {"bytes": png(), "path": None}, "qa_pairs": pairs, "lang": "KR", "id": 3}]
    loaded = load_benchmark("mtvqa", write_parquet(tmp_path / "mtvqa.parquet", rows))
    assert [item.id for item in loaded.items] == ["kor_Hang/3/0", "kor_Hang/3/1"]
    assert loaded.items[1].answers == ("500원",) and loaded.items[1].metric == "contains"


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    rows = aya_rows("eng_Latn", 2)
    rows[1]["index"] = 0
    with pytest.raises(BenchmarkDataError, match=r"row 1: duplicate item id 'eng_Latn/0' \(first at .*row 0\)"):
        load_benchmark("aya-vision-bench", write_parquet(tmp_path / "b.parquet", rows))


def test_rows_without_language_need_one(tmp_path: Path) -> None:
    rows = [{"question_id": "q", "category": "c", "cluster": "c", "prompt": "p"}]
    path = write_jsonl(tmp_path / "data/test.jsonl", rows)
    with pytest.raises(BenchmarkDataError, match="cannot tell the row's language"):
        load_benchmark("m-arenahard", path)
    assert load_benchmark("m-arenahard", path, language="pl").items[0].language == "pol_Latn"


def test_a_plugin_benchmark_in_the_aya_vision_bench_schema(tmp_path: Path) -> None:
    from ayavision.evaluate.benchmarks import BENCHMARKS, Benchmark, register_benchmark
    from ayavision.evaluate.parsers import parse_aya_vision_bench

    bench = Benchmark(
        name="shapes-bench", kind="pairwise", parse=parse_aya_vision_bench, fields="as aya-vision-bench",
        hub="made locally", registry_languages_only=True,
    )  # fmt: skip
    register_benchmark(bench)
    try:
        loaded = load_benchmark("shapes-bench", aya_bench(tmp_path / "shapes", count=2))
        assert {item.bench for item in loaded.items} == {"shapes-bench"}
        with pytest.raises(ValueError, match="already registered"):
            register_benchmark(Benchmark(**{**bench.__dict__, "hub": "elsewhere"}))
    finally:
        BENCHMARKS.pop("shapes-bench")


def test_the_text_skill_set_loads_and_scores_by_its_rules(tmp_path):
    from ayavision.evaluate.metrics import score_item

    shipped = Path(__file__).parents[2] / "recipes" / "experiments" / "text-skills.jsonl"
    loaded = load_benchmark("text-skills", shipped)
    assert len(loaded.items) == 48 and not loaded.skipped
    assert {item.language for item in loaded.items} == {"eng_Latn", "fra_Latn", "deu_Latn", "spa_Latn"}
    capital = loaded.by_id()["eng_Latn/capital-france"]
    assert capital.prompt == "What is the capital of France?" and not capital.has_images
    assert score_item(capital, "The capital of France is Paris.").correct
    assert not score_item(capital, "It is Lyon.").correct
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "language": "eng_Latn", "prompt": "Q?", "answers": ["a"], "metric": "fuzzy"}\n')
    with pytest.raises(BenchmarkDataError, match=r"bad.jsonl:1.*metric.*contains, exact"):
        load_benchmark("text-skills", bad)
