"""Data workers: the same batches from any number of workers, resumable at a recorded position, failures named."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from transformers import AutoProcessor

from ayavision.data.errors import ImageDecodeError
from ayavision.model.chat_format import encode_conversation
from ayavision.testing.datasets import make_dataset
from ayavision.train.config import StageConfig, TrainRecipe
from ayavision.train.data_stream import RowStream
from ayavision.train.data_workers import DataWorkerError, auto_workers
from ayavision.train.metrics import read_metrics
from ayavision.train.mixture import load_bucket
from ayavision.train.samples import IGNORE, SampleBuilder
from ayavision.train.trainer import CRASH_AFTER_STEP_ENV

from .recipes import stage, write_recipe


@pytest.fixture
def recipe(tmp_path: Path) -> TrainRecipe:
    original = make_dataset(tmp_path / "orig", 10, languages=("eng_Latn",), long_answers=True)
    multilingual = make_dataset(tmp_path / "ml", 10, languages=("fra_Latn", "deu_Latn"), bucket="multilingual")
    return TrainRecipe.model_validate(
        {
            "buckets": {"original": {"paths": [original]}, "multilingual": {"paths": [multilingual]}},
            "stages": {
                "sft": {
                    "mixture": {"original": 0.6, "multilingual": 0.4},
                    "max_steps": 10,
                    "seq_len": 256,
                    "pack_buffer": 8,
                    "lr": {"connector": 1e-4, "language_model": 1e-4},
                }
            },
        }
    )


def _stream(recipe: TrainRecipe, tiny_model_dir: Path, workers: int) -> RowStream:
    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    return RowStream(recipe, recipe.stages["sft"], processor, workers=workers)


def _batches(stream: RowStream, count: int, rows: int = 4, own: slice = slice(None)) -> list[list]:
    """`count` batches as plain values; pixels made for the `own` rows only, as one process of several does."""
    out = []
    for _ in range(count):
        batch = stream.next_rows(rows)
        stream.add_pixels(batch[own])
        out.append(
            [
                [
                    (s.id, s.input_ids, s.targets, s.tiles, None if s.pixel_values is None else s.pixel_values)
                    for s in row
                ]
                for row in batch
            ]
        )
    return out


def _assert_same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for batch_a, batch_b in zip(a, b, strict=True):
        for row_a, row_b in zip(batch_a, batch_b, strict=True):
            assert [s[:4] for s in row_a] == [s[:4] for s in row_b]
            for sa, sb in zip(row_a, row_b, strict=True):
                assert (sa[4] is None) == (sb[4] is None)
                assert sa[4] is None or torch.equal(sa[4], sb[4])


def test_any_number_of_workers_gives_the_same_batches_and_state(recipe, tiny_model_dir):
    inline = _stream(recipe, tiny_model_dir, workers=0)
    pooled = _stream(recipe, tiny_model_dir, workers=3)
    try:
        expected = _batches(inline, 5)
        got = _batches(pooled, 5)
        _assert_same(expected, got)
        assert sum(len(row) for batch in got for row in batch) > 20  # packed: several samples per row
        assert inline.state_dict() == pooled.state_dict()  # the position consumed, not the workers' look-ahead
        assert pooled.pool is not None and pooled.pool.in_flight <= pooled.pool.capacity
        # A process of several makes pixels only for its own rows: the others' stay unmade.
        rows = pooled.next_rows(4)
        pooled.add_pixels(rows[2:])
        assert all(s.pixel_values is None for row in rows[:2] for s in row if s.tiles)
        assert all(s.pixel_values is not None for row in rows[2:] for s in row if s.tiles)
    finally:
        pooled.close()


def test_a_resumed_stream_with_workers_restarts_at_the_recorded_position(recipe, tiny_model_dir):
    whole = _stream(recipe, tiny_model_dir, workers=0)
    first = _stream(recipe, tiny_model_dir, workers=2)
    second = _stream(recipe, tiny_model_dir, workers=2)
    try:
        expected = _batches(whole, 6)
        _batches(first, 3)
        state = first.state_dict()
        _batches(first, 2)  # work past the saved position, then go back to it in the same stream
        first.load_state_dict(state)
        _assert_same(expected[3:], _batches(first, 3))
        second.load_state_dict(state)  # and in a fresh stream, as a resumed run does
        _assert_same(expected[3:], _batches(second, 3))
        assert second.state_dict() == whole.state_dict()
    finally:
        first.close()
        second.close()


@pytest.mark.slow
def test_a_run_with_workers_killed_and_resumed_matches_the_uninterrupted_run_without(tmp_path, tiny_model_dir):
    data = make_dataset(tmp_path / "orig", 12, languages=("eng_Latn", "fra_Latn"), long_answers=True)
    # The same SFT stage twice: samples built in the training process (w0) or in two worker processes (w2).
    parts = ["connector", "language_model"]
    stages = {name: stage({"original": 1.0}, num_workers=n, train=parts) for name, n in (("w0", 0), ("w2", 2))}
    recipe_path = write_recipe(tmp_path, {"original": data}, stages)
    args = ["train", "--config", str(recipe_path), "--init", str(tiny_model_dir), "--quiet"]
    whole = _cli(*args, "--stage", "w0", "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr[-2000:]
    crashed = _cli(*args, "--stage", "w2", "--out", str(tmp_path / "resumed"), env={CRASH_AFTER_STEP_ENV: "5"})
    assert crashed.returncode == 137
    resumed = _cli(*args, "--stage", "w2", "--out", str(tmp_path / "resumed"), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((tmp_path / "resumed" / "train_config.json").read_text())["data_workers"] == 2
    a = load_file(tmp_path / "whole" / "model" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "model" / "model.safetensors")
    assert all(torch.equal(a[name], b[name]) for name in a)
    curve = [m["loss"] for m in read_metrics(tmp_path / "whole" / "metrics.jsonl")]
    assert curve == [m["loss"] for m in read_metrics(tmp_path / "resumed" / "metrics.jsonl")]
    report = (tmp_path / "whole" / "data_report.json").read_text()
    assert report == (tmp_path / "resumed" / "data_report.json").read_text()


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ayavision.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
        cwd=Path(__file__).parents[2],
    )


def test_a_dead_worker_is_named_and_a_worker_error_keeps_its_type(recipe, tiny_model_dir, tmp_path):
    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    stream = RowStream(recipe, recipe.stages["sft"], processor, workers=2)
    try:
        _batches(stream, 1)
        assert stream.pool is not None
        victim = stream.pool._workers[1]
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(timeout=10)
        with pytest.raises(DataWorkerError, match=rf"data worker 1 \(pid {victim.pid}\) died with exit code -9"):
            _batches(stream, 3)
    finally:
        stream.close()

    # An error inside a worker reaches the training process as itself, naming the file.
    bad = make_dataset(tmp_path / "bad", 2)
    (bad.parent / "images" / "original-0.png").write_bytes(b"not an image")
    (bad.parent / "images" / "original-1.png").write_bytes(b"not an image")
    bucket = recipe.buckets["original"].model_copy(update={"paths": [bad]})
    stage = recipe.stages["sft"].model_copy(update={"mixture": {"original": 1.0}})
    stream = RowStream(recipe.model_copy(update={"buckets": {"original": bucket}}), stage, processor, workers=2)
    try:
        with pytest.raises(ImageDecodeError, match=r"cannot decode 'images/original-[01].png'"):
            stream.next_rows(1)
    finally:
        stream.close()


def test_planned_samples_equal_the_processor_path_and_pixels_come_from_the_same_tiling(tiny_model_dir, tmp_path):
    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    folder = tmp_path / "multi"
    (folder / "images").mkdir(parents=True)
    sizes = [(640, 480), (90, 300), (2000, 1500)]
    for i, size in enumerate(sizes):
        Image.new("RGB", size, (40 * i, 200 - 50 * i, 90)).save(folder / "images" / f"{i}.jpg")
    record = (
        '{"id": "m", "images": ["images/0.jpg", "images/1.jpg", "images/2.jpg"], "messages": ['
        '{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Compare"}, {"type": "image"}]},'
        '{"role": "assistant", "content": [{"type": "text", "text": "Two."}]},'
        '{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "And this?"}]},'
        '{"role": "assistant", "content": [{"type": "text", "text": "A third."}]}],'
        '"language": "eng_Latn", "task": "vqa", "source": "test", "bucket": "original"}\n'
    )
    (folder / "data.jsonl").write_text(record)
    item = load_bucket([folder / "data.jsonl"])[0]
    builder = SampleBuilder(processor, seq_len=100_000)
    sample = builder.build(item)

    images = [Image.open(folder / "images" / f"{i}.jpg").convert("RGB") for i in range(3)]
    parts = iter(images)
    messages = [
        {
            "role": m.role,
            "content": [
                {"type": "image", "image": next(parts)} if p.type == "image" else {"type": "text", "text": p.text}
                for p in m.content
            ],
        }
        for m in item.record.messages
    ]
    reference = encode_conversation(processor, messages, builder.stop_ids)
    assert sample.input_ids == reference.input_ids
    assert [t != IGNORE for t in sample.targets][:-1] == [bool(m) for m in reference.assistant_mask[1:]]
    assert torch.equal(sample.pixel_values, reference.pixel_values)
    assert sample.tiles == reference.pixel_values.shape[0] > 3


def test_auto_workers_leaves_a_core_to_the_loop_and_stays_in_process_on_small_machines():
    assert auto_workers(local_processes=1, cores=2) == 0  # this project's 2-core machine: the background thread
    assert auto_workers(local_processes=1, cores=4) == 3
    assert auto_workers(local_processes=8, cores=96) == 8  # 12 cores per GPU process: capped
    assert auto_workers(local_processes=8, cores=32) == 3
    assert auto_workers(local_processes=8, cores=16) == 0
    with pytest.raises(ValueError, match="num_workers"):
        StageConfig.model_validate({"mixture": {"a": 1.0}, "max_steps": 1, "num_workers": -1})
    assert StageConfig.model_validate({"mixture": {"a": 1.0}, "max_steps": 1}).num_workers == "auto"
