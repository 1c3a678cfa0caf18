"""Reports: markdown tables and PNG plots from judge and score result folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from ayavision.cli.main import app
from ayavision.evaluate import BenchItem, JudgeSettings, judge_pairs, load_benchmark, read_answers, score_academic
from ayavision.evaluate.report import ReportInputError, write_report

from .helpers import ScriptedJudge, answers_file, aya_bench, prefer_correct


@pytest.fixture
def result_folders(tmp_path: Path) -> list[Path]:
    bench = load_benchmark("aya-vision-bench", aya_bench(tmp_path / "bench", count=4))
    ids = sorted(item.id for item in bench.items)
    texts = {item.id: item.reference for item in bench.items}
    a = answers_file(tmp_path / "ours.jsonl", {i: texts[i] if i in ids[:5] else "no" for i in ids}, model="ours")
    b = answers_file(tmp_path / "base.jsonl", {i: texts[i] if i in ids[4:] else "no" for i in ids}, model="base")
    judge_pairs(
        a,
        b,
        ScriptedJudge(prefer_correct),
        tmp_path / "judged",
        items=bench.by_id(),
        settings=JudgeSettings(bootstrap_samples=200),
        progress=False,
    )
    items = [
        BenchItem(
            id=f"{lang}/{i}", bench="maxm", language=lang, prompt="?", question="?", metric="exact", answers=("٣",)
        )
        for lang in ("arb_Arab", "hin_Deva")
        for i in range(3)
    ]
    answers = answers_file(
        tmp_path / "maxm.jsonl",
        {item.id: "3" if item.id.endswith("0") else "4" for item in items},
        bench="maxm",
        model="ours",
    )
    score_academic(items, read_answers(answers), tmp_path / "scored")
    return [tmp_path / "judged", tmp_path / "scored"]


def test_report_has_tables_and_plots(tmp_path: Path, result_folders: list[Path]) -> None:
    report = write_report(result_folders, tmp_path / "report")
    text = report.read_text(encoding="utf-8")
    assert "## Win rates (pairwise LLM judge)" in text and "## Academic benchmarks" in text
    assert "| English (eng_Latn) | 100.0 |" in text  # ours right on all 4 English items, base on none
    assert "| French (fra_Latn) | 12.5 |" in text  # both right on one French item, only base on 3
    assert "macro average (2 languages)" in text and "position consistency" in text
    assert "| Arabic (arb_Arab) | 33.3 | 3 | 1 |" in text
    pngs = sorted(p.name for p in report.parent.glob("*.png"))
    assert len(pngs) == 2 and all(f"]({name})" in text for name in pngs)
    for name in pngs:
        with Image.open(report.parent / name) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 100


def test_cli_report_and_its_errors(tmp_path: Path, result_folders: list[Path]) -> None:
    runner = CliRunner()
    out = tmp_path / "report"
    result = runner.invoke(app, ["eval", "report", *map(str, result_folders), "--out", str(out)])
    assert result.exit_code == 0, result.output and (out / "report.md").is_file()
    again = runner.invoke(app, ["eval", "report", *map(str, result_folders), "--out", str(out)])
    assert again.exit_code == 2 and "exists; choose another folder or pass --overwrite" in again.output
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(app, ["eval", "report", str(tmp_path / "empty"), "--out", str(tmp_path / "r2")])
    assert empty.exit_code == 2 and "holds neither results.json" in empty.output
    assert not (tmp_path / "r2").exists()  # nothing half written


def test_foreign_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x/results.json").write_text('{"hello": 1}')
    with pytest.raises(ReportInputError, match=r"results\.json: not a results file"):
        write_report([tmp_path / "x"], tmp_path / "r")
