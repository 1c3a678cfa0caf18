"""The translate step through the transformers backend on a tiny random NLLB-architecture model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ayavision.annotate import BackendSpec, RunOptions, TranslateConfig, run_step
from ayavision.backends import create_backend
from ayavision.backends.seq2seq import length_bound
from ayavision.data import read_records
from tests.annotate.helpers import make_dataset, read_jsonl
from tests.backends.tiny_nllb import build_tiny_nllb

QUIET = RunOptions(progress=False)


@pytest.fixture(scope="module")
def nllb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("nllb")
    return build_tiny_nllb(root / "stops", stops_early=True), build_tiny_nllb(root / "random")


def test_translate_step_forces_each_records_languages(tmp_path: Path, nllb):
    data = make_dataset(tmp_path / "in", 6)
    backend = create_backend("transformers", model=str(nllb[0]), batch_size=16)
    asyncio.run(backend.check())
    calls: list = []
    real = backend.model.generate

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append((kwargs["forced_bos_token_id"], out[:, 1].tolist()))
        return out

    backend.model.generate = spy
    config = TranslateConfig(languages=["fr", "de", "zh"], languages_per_record=2)
    result = run_step(config, data, tmp_path / "out", backend, options=QUIET)
    assert result.summary["kept"] == 6 and result.summary["outputs"] == 12
    tokenizer = backend.processor
    used = {tokenizer.convert_ids_to_tokens(forced) for forced, _ in calls}
    assert used == {"fra_Latn", "deu_Latn", "zho_Hans"}
    assert all(row == [forced] * len(row) for forced, row in calls)  # the forced token opens every output
    for record in read_records(result.output):
        assert record.bucket == "multilingual" and record.id.endswith("/" + record.language)
        assert record.meta["translation"]["translator"]["kind"] == "seq2seq"
        assert all(text.strip() for text in record.assistant_texts())


def test_a_model_that_never_stops_is_cut_by_the_source_length_and_failed(tmp_path: Path, nllb):
    data = make_dataset(tmp_path / "in", 2)
    spec = BackendSpec(kind="transformers", model=str(nllb[1]), detect_loops=False)
    result = run_step(TranslateConfig(languages=["fr"]), data, tmp_path / "out", spec, options=QUIET)
    ledger = read_jsonl(tmp_path / "out/ledger.jsonl")
    assert result.summary["failed"] == 2
    assert all(e["reason"].startswith("translation into fra_Latn cut at the length limit") for e in ledger)
    assert length_bound(10, 2.0, 10, 1024) == 30  # the bound the backend applied per sentence
