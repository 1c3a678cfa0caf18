"""The metrics step: before/after rows, a named tokenizer, chrF by sacrebleu, COMET through a subprocess."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest
import yaml
from sacrebleu.metrics import CHRF

from ayavision.annotate import CometConfig, MetricsConfig, PipelineConfig, compute_metrics, run_metrics
from ayavision.annotate.metrics.comet_subprocess import CometError, comet_scores
from ayavision.annotate.pipeline import EXAMPLE


def _record(rid: str, answer: str, language: str = "eng_Latn", **meta) -> dict:
    return {
        "id": rid,
        "messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": answer}],
        "language": language,
        "task": "vqa",
        "source": "t",
        "bucket": "original",
        "meta": meta,
    }


def _write(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _part(source: str, mt: str, **extra) -> dict:
    return {
        "translation": {"source_language": "eng_Latn", "parts": [{"at": [1, 0], "source": source, "mt": mt, **extra}]}
    }


@pytest.fixture
def datasets(tmp_path: Path) -> dict[str, Path]:
    recaptioned = _write(
        tmp_path / "recaption/data.jsonl",
        [
            _record("a", "A tall red umbrella shelters a child from the rain.", original_answers=["Umbrella."]),
            _record("b", "Two cats sleep on a sunny windowsill.", original_answers=["Two."], reference="Two cats."),
        ],
    )
    rephrased = _write(
        tmp_path / "rephrase/data.jsonl",
        [
            _record("a/fr", "Un grand parapluie rouge abrite un enfant.", "fra_Latn",
                    **_part("A tall red umbrella shelters a child.", "Un grand parapluie rouge protège un enfant.",
                            rephrased="Un grand parapluie rouge abrite un enfant.")),
            _record("b/zh", "两只猫在阳光明媚的窗台上睡觉。", "zho_Hans",
                    **_part("Two cats sleep on a sunny windowsill.", "两只猫睡在阳光窗台上。", rephrased="x")),
        ],
    )  # fmt: skip
    return {"recaption": recaptioned, "rephrase": rephrased}


def _row(result: dict, dataset: str, variant: str, language: str) -> dict:
    return next(
        r for r in result["rows"] if (r["dataset"], r["variant"], r["language"]) == (dataset, variant, language)
    )


def test_rows_per_step_language_and_before_after(datasets):
    result = compute_metrics(datasets)
    before, after = _row(result, "recaption", "before", "eng_Latn"), _row(result, "recaption", "answers", "eng_Latn")
    assert before["words"] == 1.0 and after["words"] == 8.5 and after["mtld"] > before["mtld"]
    assert after["chrf"] == round(
        CHRF().corpus_score(["Two cats sleep on a sunny windowsill."], [["Two cats."]]).score, 2
    )
    french = _row(result, "rephrase", "answers", "fra_Latn")
    expected = CHRF().corpus_score([datasets_text_fr()], [["Un grand parapluie rouge protège un enfant."]]).score
    assert french["chrf_vs_mt"] == round(expected, 2) and french["chrf"] is None
    assert _row(result, "rephrase", "before", "zho_Hans")["words"] == 10  # Chinese words are characters
    assert {r["language"] for r in result["rows"] if r["dataset"] == "rephrase"} == {"fra_Latn", "zho_Hans", "all"}
    assert result["tokenizer"].startswith("regex:")


def datasets_text_fr() -> str:
    return "Un grand parapluie rouge abrite un enfant."


def test_tokens_are_counted_with_the_named_tokenizer(datasets, tiny_model_dir, tmp_path):
    result = run_metrics(datasets, tmp_path / "m", MetricsConfig(tokenizer=str(tiny_model_dir)))
    assert result["tokenizer"] == str(tiny_model_dir)
    markdown = (tmp_path / "m/metrics.md").read_text(encoding="utf-8")
    assert f"counted with `{tiny_model_dir}`" in markdown and "| recaption (before) | eng_Latn | 2 | 2 |" in markdown
    regex = compute_metrics(datasets)
    assert (
        _row(result, "recaption", "answers", "eng_Latn")["tokens"]
        != _row(regex, "recaption", "answers", "eng_Latn")["tokens"]
    )


def _fake_comet_env(tmp_path: Path, fail: bool = False) -> Path:
    """A 'python' whose comet package scores a pair by the length of its translation (no model, no download)."""
    package = tmp_path / "fakecomet" / "comet"
    package.mkdir(parents=True)
    body = "raise RuntimeError('model file is corrupt')" if fail else "pass"
    (package / "__init__.py").write_text(
        "from types import SimpleNamespace\n"
        "def load_from_checkpoint(path):\n"
        f"    {body}\n"
        "    def predict(data, batch_size, gpus, progress_bar):\n"
        "        scores = [len(d['mt']) / 100 for d in data]\n"
        "        return SimpleNamespace(scores=scores, system_score=sum(scores) / len(scores))\n"
        "    return SimpleNamespace(predict=predict)\n",
        encoding="utf-8",
    )
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nPYTHONPATH={package.parent} exec {sys.executable} "$@"\n', encoding="utf-8")
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    return python


def test_comet_runs_in_its_own_environment(datasets, tmp_path):
    comet = CometConfig(python=_fake_comet_env(tmp_path), model="cometkiwi.ckpt")
    result = compute_metrics(datasets, MetricsConfig(comet=comet))
    french_after = _row(result, "rephrase", "answers", "fra_Latn")
    french_before = _row(result, "rephrase", "before", "fra_Latn")
    assert french_after["comet"] == round(len(datasets_text_fr()) / 100, 4)
    assert french_before["comet"] == round(len("Un grand parapluie rouge protège un enfant.") / 100, 4)
    assert _row(result, "recaption", "answers", "eng_Latn")["comet"] is None  # nothing was translated there


def test_comet_failures_are_reported(tmp_path):
    config = CometConfig(python=_fake_comet_env(tmp_path, fail=True), model="m")
    with pytest.raises(CometError, match="model file is corrupt"):
        comet_scores([{"src": "a", "mt": "b"}], config)
    with pytest.raises(ValueError, match="does not exist"):
        comet_scores([{"src": "a", "mt": "b"}], CometConfig(python=tmp_path / "nope", model="m"))


def test_the_example_pipeline_is_valid():
    config = PipelineConfig.model_validate(yaml.safe_load(EXAMPLE))
    assert [s.name for s in config.steps] == ["recaption", "filter", "translate", "rephrase", "metrics"]
