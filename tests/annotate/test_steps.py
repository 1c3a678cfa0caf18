"""The four model steps chained against a scripted teacher: verdicts, provenance, ledgers, cache reuse."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from ayavision.annotate import (
    BackendSpec,
    FilterConfig,
    RecaptionConfig,
    RephraseConfig,
    RunOptions,
    TranslateConfig,
    run_step,
)
from ayavision.annotate.steps.translate import draw_languages
from ayavision.data import read_records
from tests.annotate.helpers import read_jsonl


def _ledger(out: Path) -> list[dict]:
    return read_jsonl(out / "ledger.jsonl")


def _accounted(out: Path, total: int) -> list[dict]:
    """Every input record exactly once, in order; kept outputs exactly once."""
    ledger = _ledger(out)
    assert [e["index"] for e in ledger] == list(range(total))
    ids = [r.id for r in read_records(out / "data.jsonl")]
    assert len(ids) == len(set(ids)) == sum(e["outputs"] for e in ledger if e["status"] == "kept")
    return ledger


def test_recaption_filter_translate_rephrase(dataset: Path, tmp_path: Path, spec: BackendSpec, quiet: RunOptions):
    recaption = run_step(RecaptionConfig(), dataset, tmp_path / "recaption", spec, options=quiet)
    ledger = _accounted(tmp_path / "recaption", 12)
    assert all(e["status"] == "kept" for e in ledger)
    assert "refusal" in ledger[3]["reason"]  # kept for the filter to drop, after regenerating
    records = {r.id: r for r in read_records(recaption.output)}
    first = records["toy/0000"]
    assert first.bucket == "synthetic_en" and first.meta["original_answers"] == ["Red, item 0."]
    assert first.assistant_texts()[0].startswith("Looking closely at the picture, the answer is Red, item 0.")
    assert first.meta["recaption"]["template"] == "recaption/vqa" and first.meta["steps"] == ["recaption"]
    assert records["toy/0004"].meta["original_answers"] == ["Green, item 4.", "Small."]  # both turns recaptioned
    assert records["toy/0003"].meta["recaption"]["attempts"] == [3]
    assert first.images == ["media/images/red.png"] and (tmp_path / "recaption/media/images/red.png").is_file()

    filtered = run_step(FilterConfig(), recaption.output, tmp_path / "filter", spec, options=quiet)
    ledger = _accounted(tmp_path / "filter", 12)
    verdicts = {e["id"]: (e["status"], e["reason"]) for e in ledger}
    assert verdicts["toy/0003"][0] == "dropped" and verdicts["toy/0003"][1].startswith("refusal")
    assert verdicts["toy/0007"] == ("dropped", "judge said NO (turn 1: the recaption disagrees with the original)")
    assert filtered.summary["reasons"] == {"dropped: refusal": 1, "dropped: judge said NO": 1}

    config = TranslateConfig(languages=["fr", "de", "ja"], languages_per_record=2, seed=3)
    translated = run_step(config, filtered.output, tmp_path / "translate", spec, options=quiet)
    ledger = _accounted(tmp_path / "translate", 10)
    assert translated.summary["outputs"] == 20
    for record in read_records(translated.output):
        parent = record.meta["parent_id"]
        assert record.id.startswith(parent + "/") and record.language in draw_languages(parent, config)
        assert record.bucket == "multilingual" and record.meta["steps"] == ["recaption", "filter", "translate"]
        assert record.meta["translation"]["translator"] == {"backend": "openai", "model": "fake-model"}
        assert all(t.startswith("[") for t in record.assistant_texts())

    rephrased = run_step(RephraseConfig(), translated.output, tmp_path / "rephrase", spec, options=quiet)
    _accounted(tmp_path / "rephrase", 20)
    for record in read_records(rephrased.output):
        parts = record.meta["translation"]["parts"]
        assert all(p["rephrased"] == p["mt"] + " (polished)" for p in parts)
        assert record.assistant_texts()[-1].endswith("(polished)") and record.meta["steps"][-1] == "rephrase"
        assert record.images == ["media/images/" + record.images[0].rsplit("/", 1)[1]]  # links do not stack


def test_language_draw_is_seeded_per_record_and_uniform():
    config = TranslateConfig(languages=["fr", "de", "ja", "zh"], seed=11)
    draws = Counter(draw_languages(f"rec/{i}", config)[0] for i in range(400))
    assert set(draws) == {"fra_Latn", "deu_Latn", "jpn_Jpan", "zho_Hans"}
    assert all(70 <= n <= 130 for n in draws.values())  # 100 expected each
    first = [draw_languages(f"rec/{i}", config) for i in range(20)]
    assert [draw_languages(f"rec/{i}", config.model_copy()) for i in range(20)] == first
    reseeded = config.model_copy(update={"seed": 12})
    assert [draw_languages(f"rec/{i}", reseeded) for i in range(20)] != first


def test_translate_config_rejects_unknown_and_impossible_languages():
    with pytest.raises(ValidationError, match="unknown language code 'klingon'"):
        TranslateConfig(languages=["fr", "klingon"])
    with pytest.raises(ValidationError, match="cannot also be a target"):
        TranslateConfig(languages=["en", "fr"])
    with pytest.raises(ValidationError, match="only 2 language"):
        TranslateConfig(languages=["fr", "de"], languages_per_record=3)
    with pytest.raises(ValidationError, match="Extra inputs"):
        TranslateConfig(langauges=["fr"])
    assert len(TranslateConfig().target_languages()) == 22


def test_bad_records_are_failed_in_the_ledger_not_lost(tmp_path: Path, dataset: Path, spec, quiet):
    lines = dataset.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[1])
    broken["task"] = "poetry"
    missing_image = json.loads(lines[2])
    missing_image["images"] = ["images/nope.png"]
    screenshot = json.loads(lines[3])
    screenshot["task"] = "screenshot_code"
    rows = [lines[0], json.dumps(broken), json.dumps(missing_image), json.dumps(screenshot), "{not json", lines[0]]
    path = tmp_path / "in" / "bad.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = run_step(RecaptionConfig(), path, tmp_path / "out", spec, options=quiet)
    ledger = _accounted(tmp_path / "out", 6)
    statuses = [(e["id"], e["status"]) for e in ledger]
    assert (
        statuses[0] == ("toy/0000", "kept")
        and [s for _, s in statuses[1:]] == ["failed"] * 2 + ["dropped"] + ["failed"] * 2
    )
    assert ledger[1]["reason"].startswith("invalid record: task: unknown task 'poetry'")
    assert ledger[1]["location"] == f"{path}:2"
    assert ledger[2]["reason"].startswith("input error: image file 'images/nope.png' not found")
    assert ledger[3]["reason"] == "no recaption template for task 'screenshot_code'"
    assert ledger[4]["id"] == f"{path}:5" and "invalid JSON" in ledger[4]["reason"]
    assert ledger[5]["reason"] == f"invalid record: duplicate id 'toy/0000' (first at {path}:1)"
    assert result.summary["failed"] == 4 and not result.summary["retryable"]


def test_rerun_with_a_fixed_parser_asks_the_model_nothing(dataset: Path, tmp_path: Path, spec, server, quiet):
    first = run_step(RecaptionConfig(), dataset, tmp_path / "out", spec, options=quiet)
    sent = server.requests
    again = run_step(RecaptionConfig(), dataset, tmp_path / "out", spec, options=quiet)
    assert again.skipped and server.requests == sent
    redo = run_step(
        RecaptionConfig(), dataset, tmp_path / "out", spec, options=RunOptions(overwrite=True, progress=False)
    )
    assert not redo.skipped and server.requests == sent and redo.summary["cached"] == first.summary["requests"]
    assert (tmp_path / "out/data.jsonl").read_bytes() and redo.summary["kept"] == first.summary["kept"]


def test_a_changed_config_is_not_mixed_into_a_previous_run(dataset: Path, tmp_path: Path, spec, quiet):
    run_step(RecaptionConfig(), dataset, tmp_path / "out", spec, options=quiet)
    with pytest.raises(ValueError, match="another configuration"):
        run_step(RecaptionConfig(max_tokens=99), dataset, tmp_path / "out", spec, options=quiet)


def test_a_template_without_placeholders_stops_before_anything_is_written(dataset, tmp_path, spec, quiet):
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "judge.txt").write_text("Is it good? {recaption}", encoding="utf-8")
    with pytest.raises(ValueError, match=r"judge.txt \(judge\) lacks \{answer\}, \{instruction\}"):
        run_step(FilterConfig(template_dir=tmp_path / "tpl"), dataset, tmp_path / "out", spec, options=quiet)
    assert not (tmp_path / "out").exists()


def test_filter_rules_only_needs_no_backend(dataset: Path, tmp_path: Path, spec, quiet):
    recaption = run_step(RecaptionConfig(), dataset, tmp_path / "r", spec, options=quiet)
    result = run_step(FilterConfig(judge=False), recaption.output, tmp_path / "f", None, options=quiet)
    assert result.summary["dropped"] == 1 and result.summary["kept"] == 11 and result.summary["requests"] == 0


def test_parquet_in_parquet_out_with_embedded_images(dataset: Path, tmp_path: Path, spec, quiet):
    from ayavision.data import dataset_root, write_parquet_shards

    shards = tmp_path / "parquet"
    write_parquet_shards(read_records(dataset), shards, dataset_root(dataset), rows_per_shard=5)
    result = run_step(RecaptionConfig(), shards, tmp_path / "out", spec, options=quiet)
    assert result.summary["format"] == "parquet" and result.output == tmp_path / "out" / "data"
    records = list(read_records(result.output))
    assert len(records) == 12 and all(r.has_embedded_images() for r in records)
    assert read_jsonl(tmp_path / "out/ledger.jsonl")[11]["location"].endswith(":row 1")
    nothing = run_step(
        FilterConfig(judge=False, rules={"min_words": 1000}), result.output, tmp_path / "f", None, options=quiet
    )
    assert nothing.summary["kept"] == 0 and nothing.summary["dropped"] == 12


def test_one_run_per_step_folder(dataset: Path, tmp_path: Path, spec, quiet):
    import fcntl

    lock = tmp_path / "out/.work/lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "w") as held:
        held.write("4242")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)  # another process's run, as far as the step can tell
        with pytest.raises(ValueError, match=r"in use by another run \(pid 4242\)"):
            run_step(RecaptionConfig(), dataset, tmp_path / "out", spec, options=quiet)
    assert run_step(RecaptionConfig(), dataset, tmp_path / "out", spec, options=quiet).summary["kept"] == 12
    with pytest.raises(ValueError, match="does not exist"):
        run_step(RecaptionConfig(), tmp_path / "missing.jsonl", tmp_path / "other", spec, options=quiet)
    assert not (tmp_path / "other").exists()
