"""`ayavision merge` as a user runs it: one alpha, a sweep, and errors as one line with exit code 1."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ayavision.cli.main import app

runner = CliRunner()


def _args(pair, out, *extra: str) -> list[str]:
    return ["merge", "--vlm", str(pair.vlm), "--text", str(pair.text), "--out", str(out), *extra]


def test_merge_one_alpha(cohere_pair, tmp_path):
    result = runner.invoke(app, _args(cohere_pair, tmp_path / "m", "--alpha", "0.4", "--no-hash"))
    assert result.exit_code == 0, result.output
    assert "merged 18 language-model tensors" in result.output
    assert "rows 1000..1041 taken from the VLM" in result.output
    record = json.loads((tmp_path / "m" / "merge.json").read_text())
    assert record["alpha"] == 0.4 and "sha256" not in record["text"]


def test_merge_defaults_to_the_papers_alpha_and_sweeps_into_sub_folders(cohere_pair, tmp_path):
    result = runner.invoke(app, _args(cohere_pair, tmp_path / "m"))
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m" / "merge.json").read_text())["alpha"] == 0.4
    result = runner.invoke(app, _args(cohere_pair, tmp_path / "s", "--alphas", "0,0.2,0.4,0.6,0.8,1"))
    assert result.exit_code == 0, result.output
    folders = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert folders == [f"alpha-{a}" for a in ("0.0", "0.2", "0.4", "0.6", "0.8", "1.0")]


def test_bad_options_are_one_error_line(cohere_pair, tmp_path):
    for extra, message in (
        (["--alpha", "1.5"], "error: alpha 1.5: must be between 0 and 1"),
        (["--alphas", "0,x"], "error: --alphas 0,x: 'x' is not a number"),
        (["--alpha", "0.4", "--alphas", "0,1"], "error: give --alpha or --alphas, not both"),
        (["--method", "ties"], "error: --method 'ties': choose one of linear, slerp"),
        (["--dtype", "int8"], "error: --dtype 'int8'"),
        (["--max-shard-size", "lots"], "error: --max-shard-size 'lots'"),
    ):
        result = runner.invoke(app, _args(cohere_pair, tmp_path / "m", *extra))
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output, (extra, result.output)
        assert not (tmp_path / "m").exists()
