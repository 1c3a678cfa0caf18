"""Pipeline files and the `ayavision annotate` commands: a whole run, resumption, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ayavision.annotate import load_pipeline, run_pipeline
from ayavision.cli.annotate import annotate_app
from tests.annotate.helpers import read_jsonl

runner = CliRunner()


def _pipeline(tmp_path: Path, url: str, **changes) -> Path:
    raw = {
        "input": "in/train.jsonl",
        "out": "run",
        "backends": {
            "teacher": {"kind": "openai", "base_url": url, "model": "fake-model", "api_key_env": "FAKE_TEACHER_KEY"}
        },
        "steps": [
            {"step": "recaption", "backend": "teacher", "max_tokens": 512},
            {"step": "filter", "backend": "teacher"},
            {"step": "translate", "backend": "teacher", "languages": ["fr", "zh"], "seed": 4},
            {"step": "rephrase", "backend": "teacher"},
            {"step": "metrics"},
        ],
        **changes,
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_a_pipeline_runs_every_step_and_a_rerun_skips_them(tmp_path, dataset, server, monkeypatch):
    monkeypatch.setenv("FAKE_TEACHER_KEY", "sk-very-secret-value")
    config = load_pipeline(_pipeline(tmp_path, server.url))
    result = run_pipeline(config, progress=False)
    assert list(result.datasets) == ["input", "recaption", "filter", "translate", "rephrase"]
    assert result.steps["rephrase"].summary["kept"] == 10
    table = (tmp_path / "run/metrics/metrics.md").read_text(encoding="utf-8")
    assert "| recaption | eng_Latn | 12 |" in table and "| rephrase (before) | zho_Hans |" in table
    rows = json.loads((tmp_path / "run/metrics/metrics.json").read_text(encoding="utf-8"))["rows"]
    recaption = next(r for r in rows if r["dataset"] == "recaption" and r["variant"] == "answers")
    before = next(r for r in rows if r["dataset"] == "recaption" and r["variant"] == "before")
    assert recaption["words"] > before["words"] and recaption["mtld"] > before["mtld"]
    sent = server.requests
    again = run_pipeline(config, progress=False)
    assert all(step.skipped for step in again.steps.values()) and server.requests == sent
    for path in (tmp_path / "run").rglob("*"):  # the key reaches the server, never a file
        if path.is_file():
            assert b"sk-very-secret" not in path.read_bytes(), path
    assert server.authorization == {"Bearer sk-very-secret-value"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stepz": []}, "stepz: Extra inputs are not permitted"),
        ({"steps": [{"step": "recaption", "backend": "nope"}]}, "names backend 'nope', not among: teacher"),
        ({"steps": [{"step": "recaption", "backend": "teacher", "max_token": 3}]}, "max_token"),
        ({"steps": [{"step": "summarise"}]}, "does not match any of the expected tags"),
    ],
)
def test_pipeline_errors_name_the_file_and_field(tmp_path, change, message):
    path = _pipeline(tmp_path, "http://127.0.0.1:9/v1", **change)
    with pytest.raises(ValueError, match=message) as caught:
        load_pipeline(path)
    assert str(caught.value).startswith(str(path))


def test_yaml_syntax_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("input: x\nsteps: [\n  {step: recaption\nout: y\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.yaml:\d+: not valid YAML"):
        load_pipeline(path)


def _step(*args: str):
    return runner.invoke(annotate_app, list(args))


def test_cli_step_runs_and_reports(tmp_path, dataset, server):
    out = tmp_path / "out"
    result = _step("recaption", "--input", str(dataset), "--out", str(out), "--base-url", server.url,
                   "--model", "fake-model", "--no-progress")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "recaption done: 12 record(s): kept 12, dropped 0, failed 0" in result.output
    assert len(read_jsonl(out / "ledger.jsonl")) == 12
    filtered = _step("filter", "--input", str(out / "data.jsonl"), "--out", str(tmp_path / "f"), "--no-judge",
                     "--no-progress")  # fmt: skip
    assert filtered.exit_code == 0 and "kept 11, dropped 1" in filtered.output
    metrics = _step("metrics", "--input", f"original={dataset}", "--input", str(out / "data.jsonl"),
                    "--out", str(tmp_path / "m"))  # fmt: skip
    assert metrics.exit_code == 0 and "| out | eng_Latn | 12 |" in metrics.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "http://127.0.0.1:9/v1", "--model", "m"], "cannot reach http://127.0.0.1:9/v1"),
        (["--model", "m"], "base_url: Field required"),
        (["--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--api-key-env", "NO_SUCH_VAR_X"], "NO_SUCH_VAR_X"),
        (["--backend", "nonesuch"], "unknown backend 'nonesuch'"),
        (["--base-url", "http://x/v1", "--model", "m", "--languages", "fr,xx"], "unknown language code 'xx'"),
    ],
)
def test_cli_errors_are_one_clear_line_and_exit_2(tmp_path, dataset, args, message):
    command = "translate" if "--languages" in args else "recaption"
    result = _step(command, "--input", str(dataset), "--out", str(tmp_path / "out"), "--no-progress", *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_cli_template_export_round_trips(tmp_path):
    result = _step("templates", "--export", str(tmp_path / "t"))
    assert result.exit_code == 0 and "recaption/vqa" in result.output
    assert (tmp_path / "t/recaption/difference.txt").is_file() and (tmp_path / "t/judge.txt").is_file()
    example = _step("example")
    assert example.exit_code == 0 and "steps:" in example.output
    assert yaml.safe_load(example.output)["steps"][0]["step"] == "recaption"


def test_a_plugin_backend_runs_through_the_registry(tmp_path, dataset):
    path = tmp_path / "pipeline.yaml"
    raw = {
        "input": "in/train.jsonl",
        "out": "run",
        "plugins": ["tests.annotate.plugin_backend"],
        "backends": {"loud": {"kind": "shouting-teacher", "volume": 3}},
        "steps": [
            {"step": "recaption", "backend": "loud", "task_templates": {"vqa": "vqa"}},
            {"step": "filter", "backend": "loud"},
        ],
    }
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = run_pipeline(load_pipeline(path), progress=False)
    assert result.steps["recaption"].summary["kept"] == 4 and result.steps["recaption"].summary["dropped"] == 8
    texts = [row["messages"][1]["content"][0]["text"] for row in read_jsonl(result.datasets["filter"])]
    assert texts[0] == "RED, ITEM 0.!!!" and result.steps["filter"].summary["kept"] == 4
    raw["backends"]["loud"]["colour"] = "red"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['colour'\]"):
        run_pipeline(load_pipeline(path), progress=False)
