"""`ayavision data ...`: exit codes, problem lines, imports and conversion, user errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from ayavision.data import read_records, validate_dataset

from .helpers import image_bytes, make_image

try:
    from ayavision.cli.main import app
except ModuleNotFoundError as missing:  # the model commands may not exist yet; the data commands do not need them
    if missing.name != "ayavision.cli.model":
        raise
    from ayavision.cli.data import data_app

    app = typer.Typer()
    app.add_typer(data_app, name="data")


def squashed(text: str) -> str:
    """Text without whitespace: error lines may be wrapped by the console at its width."""
    return "".join(text.split())


def run(*args: str | Path):
    result = CliRunner().invoke(app, ["data", *map(str, args)])
    # A user error must never surface as a traceback.
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_validate_good_dataset_exits_0(good_dataset: Path) -> None:
    result = run("validate", good_dataset)
    assert result.exit_code == 0, result.output
    assert "OK: 4 record(s) in 1 file(s), no problems" in result.output


def test_validate_broken_dataset_prints_every_problem_and_exits_1(broken_dataset: Path) -> None:
    result = run("validate", broken_dataset)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"{broken_dataset}:2: invalid JSON: Expecting value (column 31)" in lines
    assert (
        f"{broken_dataset}:17: [bad-part-type] messages[1].content[0].type: must be 'image' or 'text', got 'video'"
        in (lines)
    )
    assert (
        f"{broken_dataset}:9: [missing-image] images[0]: image file 'images/nowhere.png' not found under "
        + str(broken_dataset.parent)
        in lines
    )
    assert sum(line.startswith(f"{broken_dataset}:") for line in lines) == 21
    assert lines[-1] == "21 problem(s) in 20 of 22 record(s) in 1 file(s)"


def test_validate_options(broken_dataset: Path) -> None:
    result = run("validate", broken_dataset, "--no-images")
    assert result.exit_code == 1
    assert "images[0]" not in result.output
    assert "15 problem(s)" in result.output
    tiny = run("validate", broken_dataset, "--max-pixels", "10")
    assert f"{broken_dataset}:1: [ok-1] images[0]: 'images/ok.png' has 48 pixels, over the limit of 10" in (tiny.output)


def test_validate_missing_path_is_a_user_error(tmp_path: Path) -> None:
    result = run("validate", tmp_path / "nope.jsonl")
    assert result.exit_code == 2
    assert squashed(f"error: {tmp_path / 'nope.jsonl'} does not exist") == squashed(result.stderr)


def test_import_llava_then_validate(tmp_path: Path) -> None:
    make_image(tmp_path / "llava/images/1.png")
    entries = [
        {
            "id": "a",
            "image": "images/1.png",
            "conversations": [{"from": "human", "value": "<image>\nQ?"}, {"from": "gpt", "value": "A."}],
        },
        {"id": "b", "conversations": []},
    ]
    source = tmp_path / "llava/sample.json"
    source.write_text(json.dumps(entries))
    out = tmp_path / "llava/out.jsonl"
    result = run("import", "llava", source, "--out", out, "--language", "ja", "--source", "mini")
    assert result.exit_code == 0, result.output
    assert f"skipped {source}[1]: missing or empty 'conversations'" in result.output
    assert "wrote 1 record(s)" in result.output and "skipped 1" in result.output
    (record,) = read_records(out)
    assert (record.id, record.language, record.images) == ("mini/a", "jpn_Jpan", ["images/1.png"])
    assert run("validate", out).exit_code == 0

    again = run("import", "llava", source, "--out", out)
    assert again.exit_code == 2 and squashed(f"{out} exists") in squashed(again.stderr)
    bad_language = run("import", "llava", source, "--out", tmp_path / "x.jsonl", "--language", "tlh")
    assert bad_language.exit_code == 2
    assert squashed("unknown language code 'tlh'") in squashed(bad_language.stderr)
    assert not (tmp_path / "x.jsonl").exists()

    # A JSONL outside the image tree could not name the images; Parquet embeds them instead.
    outside = run("import", "llava", source, "--out", tmp_path / "elsewhere/out.jsonl")
    assert outside.exit_code == 2 and squashed("lie outside") in squashed(outside.stderr)
    shards = run("import", "llava", source, "--out", tmp_path / "elsewhere/shards")
    assert shards.exit_code == 0, shards.output
    assert validate_dataset(tmp_path / "elsewhere/shards").ok


def test_import_cauldron_to_jsonl_and_parquet(tmp_path: Path) -> None:
    rows = [{"images": [{"bytes": image_bytes(), "path": None}], "texts": [{"user": "Q", "assistant": "A"}]}]
    source = tmp_path / "ai2d.parquet"
    pq.write_table(pa.Table.from_pylist(rows), source)
    jsonl = run("import", "cauldron", source, "--out", tmp_path / "j/ai2d.jsonl", "--task", "chart")
    assert jsonl.exit_code == 0, jsonl.output
    assert (tmp_path / "j/images/ai2d/0000000-0.png").is_file()
    assert run("validate", tmp_path / "j/ai2d.jsonl").exit_code == 0

    parquet = run("import", "cauldron", source, "--out", tmp_path / "p", "--format", "parquet")
    assert parquet.exit_code == 0, parquet.output
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["data-00000-of-00001.parquet"]

    bad_task = run("import", "cauldron", source, "--out", tmp_path / "q", "--task", "poetry")
    assert bad_task.exit_code == 2 and squashed("unknown task 'poetry'") in squashed(bad_task.stderr)


def test_to_parquet(good_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "shards"
    result = run("to-parquet", good_dataset, "--out", out, "--rows-per-shard", "3")
    assert result.exit_code == 0, result.output
    assert "wrote 2 shard(s)" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["data-00000-of-00002.parquet", "data-00001-of-00002.parquet"]
    assert run("validate", out).exit_code == 0


def test_to_parquet_refuses_an_invalid_dataset_and_writes_nothing(broken_dataset: Path, tmp_path: Path) -> None:
    result = run("to-parquet", broken_dataset, "--out", tmp_path / "shards")
    assert result.exit_code == 2
    assert squashed(f"error: {broken_dataset}:2: invalid JSON") in squashed(result.stderr)
    assert not (tmp_path / "shards").exists()


@pytest.mark.parametrize("args", [["--help"], ["validate", "--help"], ["import", "cauldron", "--help"]])
def test_help(args: list[str]) -> None:
    assert run(*args).exit_code == 0
