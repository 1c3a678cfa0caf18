"""World datasets in the conversation format: valid, reproducible, cached, with true answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ayavision.data import read_records, validate_dataset
from ayavision.world import DatasetConfig, make_world_dataset
from ayavision.world.config import ALL_LANGUAGES
from ayavision.world.dataset import make_item
from ayavision.world.render import read_scene
from ayavision.world.tasks import WORLD_TASKS, solve


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_dataset_validates_and_covers_every_task(world_dataset):
    assert validate_dataset(world_dataset / "data.jsonl").problems == []
    records = list(read_records(world_dataset / "data.jsonl"))
    assert len(records) == 48
    assert {r.meta["world"]["task"] for r in records} == set(WORLD_TASKS)
    assert all(r.language == "eng_Latn" and r.bucket == "original" for r in records)
    assert {r.task for r in records} == {"captioning", "vqa", "reasoning", "multi_image", "ocr"}


def test_same_seed_gives_the_same_images_and_texts(tmp_path, world_dataset):
    again = tmp_path / "again"
    make_world_dataset(again, n=48, seed=7)
    assert _files(again) == _files(world_dataset)
    other = tmp_path / "other"
    make_world_dataset(other, n=48, seed=8)
    assert (other / "data.jsonl").read_bytes() != (world_dataset / "data.jsonl").read_bytes()


def test_an_item_does_not_depend_on_the_dataset_size():
    small, large = DatasetConfig(n=5, seed=2), DatasetConfig(n=500, seed=2)
    assert make_item(small, 3) == make_item(large, 3)


def test_output_is_reused_for_the_same_config_and_rebuilt_for_another(tmp_path):
    out = tmp_path / "d"
    first = make_world_dataset(out, n=6, seed=1, tasks=["vqa"])
    marker = (out / "world.json").stat().st_mtime_ns
    assert make_world_dataset(out, n=6, seed=1, tasks=["vqa"]) == first
    assert (out / "world.json").stat().st_mtime_ns == marker
    make_world_dataset(out, n=7, seed=1, tasks=["vqa"])
    assert json.loads((out / "world.json").read_text())["records"] == 7


def test_short_answers_are_true_of_the_pictured_scene(world_dataset):
    checked = 0
    for record in read_records(world_dataset / "data.jsonl"):
        world = record.meta["world"]
        if world["task"] not in ("vqa", "counting", "ocr"):
            continue
        scenes = [read_scene(world_dataset / path) for path in record.image_paths()]
        assert solve(world["frame"], world["slots"], scenes) == world["answer"]
        checked += 1
    assert checked >= 10


def test_multilingual_records_are_in_their_language_and_marked_by_direction(tmp_path):
    make_world_dataset(tmp_path / "m", n=46, seed=3, tasks=["vqa", "counting"], languages="all")
    records = list(read_records(tmp_path / "m" / "data.jsonl"))
    assert {r.language for r in records} <= set(ALL_LANGUAGES)
    assert len({r.language for r in records}) > 15
    for record in records:
        assert record.bucket == ("original" if record.language == "eng_Latn" else "multilingual")
        rtl = record.language in ("arb_Arab", "pes_Arab", "heb_Hebr")
        assert record.meta["world"]["direction"] == ("rtl" if rtl else "ltr")


def test_unknown_tasks_and_languages_are_refused():
    with pytest.raises(ValueError, match="unknown task"):
        DatasetConfig(n=1, tasks=["painting"])
    with pytest.raises(ValueError, match="unknown language"):
        DatasetConfig(n=1, languages=["xx"])
    with pytest.raises(ValueError, match="Extra inputs"):
        DatasetConfig(n=1, colour="red")


def test_several_questions_about_one_image_make_a_multi_turn_record_with_true_distinct_answers(tmp_path):
    one = make_world_dataset(tmp_path / "one", n=30, seed=4, tasks=["vqa", "counting", "caption"])
    many = make_world_dataset(tmp_path / "many", n=30, seed=4, tasks=["vqa", "counting", "caption"], questions=3)
    assert one["records"] == many["records"] == 30
    assert validate_dataset(tmp_path / "many" / "data.jsonl").problems == []
    singles = {r.id: r for r in read_records(tmp_path / "one" / "data.jsonl")}
    turns_seen = []
    for record in read_records(tmp_path / "many" / "data.jsonl"):
        # The first turn is the single-question dataset's record: same image, question and answer.
        assert record.messages[:2] == singles[record.id].messages
        assert record.images == singles[record.id].images
        world = record.meta["world"]
        turns = world.get("turns", [world])
        assert len(record.messages) == 2 * len(turns)
        if world["task"] == "caption":
            assert len(turns) == 1
            continue
        turns_seen.append(len(turns))
        scenes = [read_scene(tmp_path / "many" / path) for path in record.image_paths()]
        asked = [m.text() for m in record.messages[0::2]]
        assert len(set(asked)) == len(asked)
        for turn, answer in zip(turns, record.messages[1::2], strict=True):
            assert solve(turn["frame"], turn["slots"], scenes) == turn["answer"]
            assert answer.text()
        # Only the first user turn carries the image.
        assert sum(p.type == "image" for m in record.messages for p in m.content) == len(record.images)
    assert max(turns_seen) == 3 and sum(turns_seen) > 2 * len(turns_seen)
