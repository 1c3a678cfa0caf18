"""`ayavision world ...`: a thin layer over the functions, with clear errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ayavision.cli.main import app

runner = CliRunner()


def test_data_text_task_and_samples_commands(tmp_path):
    result = runner.invoke(
        app, ["world", "data", str(tmp_path / "d"), "--n", "6", "--tasks", "vqa,ocr", "--languages", "fr,ja", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "d" / "data.jsonl").read_text().splitlines()]
    assert len(records) == 6 and {r["language"] for r in records} <= {"fra_Latn", "jpn_Jpan"}
    result = runner.invoke(app, ["world", "text-task", str(tmp_path / "t"), "--n", "5"])
    assert result.exit_code == 0 and "chance accuracy" in result.output
    result = runner.invoke(app, ["world", "samples", str(tmp_path / "s"), "--n", "2", "--language", "hi"])
    assert result.exit_code == 0 and (tmp_path / "s" / "sample-1.png").is_file()


def test_a_config_file_with_an_unknown_key_is_one_clear_error(tmp_path):
    config = tmp_path / "world.yaml"
    config.write_text("n: 3\ncolours: [red]\n")
    result = runner.invoke(app, ["world", "data", str(tmp_path / "d"), "--config", str(config)])
    assert result.exit_code == 2
    assert "colours" in result.output and "Traceback" not in result.output


def test_check_and_measure_commands(tmp_path):
    result = runner.invoke(app, ["world", "check"])
    assert result.exit_code == 0 and "23 languages" in result.output
    result = runner.invoke(app, ["world", "measure", "translation", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2


def test_tokenizer_command_prints_its_summary(tmp_path):
    result = runner.invoke(app, ["world", "tokenizer", str(tmp_path / "tok"), "--vocab-size", "600"])
    assert result.exit_code == 0, result.output
    assert "vocab" in result.output and (tmp_path / "tok" / "tokenizer.json").is_file()
