"""A flaky server: 429s with Retry-After, 500s, hangs past the timeout, malformed JSON, a dead model, an outage."""

from __future__ import annotations

from pathlib import Path

import pytest

from ayavision.annotate import BackendSpec, RecaptionConfig, RunOptions, StepAborted, run_step
from ayavision.data import read_records
from ayavision.testing.openai_server import FAULT_KINDS, FakeOpenAIServer, always_fail, first_attempt_faults
from tests.annotate.helpers import make_dataset, read_jsonl, teacher

QUIET = RunOptions(progress=False)


def _spec(server: FakeOpenAIServer, **options) -> BackendSpec:
    defaults = {"backoff_base": 0.01, "backoff_max": 0.05, "timeout": 0.5, "max_retries": 3, "concurrency": 6}
    return BackendSpec(kind="openai", base_url=server.url, model="fake-model", **{**defaults, **options})


def _check_accounting(out: Path, total: int) -> list[dict]:
    ledger = read_jsonl(out / "ledger.jsonl")
    assert sorted(e["index"] for e in ledger) == list(range(total))  # every record, once
    ids = [r.id for r in read_records(out / "data.jsonl")]
    assert len(ids) == len(set(ids))  # nothing duplicated
    assert set(ids) == {e["id"] for e in ledger if e["status"] == "kept"}
    return ledger


def _mixed_faults(body: dict, attempt: int):
    """A third of requests fail at first (every kind), and one in ten fails on every attempt (a 500)."""
    return always_fail(0.1, "500", seed=5)(body, attempt) or first_attempt_faults(0.35, FAULT_KINDS, seed=9)(
        body, attempt
    )


def test_a_flaky_server_loses_and_duplicates_nothing(tmp_path: Path):
    data = make_dataset(tmp_path / "in", 40)
    clean_out, flaky_out = tmp_path / "clean", tmp_path / "flaky"
    with FakeOpenAIServer(answer=teacher) as clean:
        run_step(RecaptionConfig(), data, clean_out, _spec(clean), options=QUIET)
    with FakeOpenAIServer(answer=teacher, faults=_mixed_faults, retry_after=0.01, hang_seconds=5) as flaky:
        first = run_step(RecaptionConfig(), data, flaky_out, _spec(flaky), options=QUIET)
        assert set(flaky.faults_sent) == set(FAULT_KINDS)  # every kind of fault was served
        assert flaky.max_in_flight <= 6
    ledger = _check_accounting(flaky_out, 40)
    failed = [e for e in ledger if e["status"] == "failed"]
    assert failed and first.summary["retryable"] == len(failed)
    assert all(e["retryable"] and "gave up after 4 attempt(s): HTTP 500" in e["reason"] for e in failed)

    # The server recovers: running the same step again redoes only the failed records.
    with FakeOpenAIServer(answer=teacher) as healed:
        second = run_step(RecaptionConfig(), data, flaky_out, _spec(healed), options=QUIET)
        retried_records = {b["messages"][0]["content"][1]["text"] for b in healed.bodies}
    assert not second.skipped and second.summary["failed"] == 0
    assert len(retried_records) <= sum(1 + (e["index"] % 5 == 4) for e in failed)
    _check_accounting(flaky_out, 40)
    assert (flaky_out / "data.jsonl").read_text() == (clean_out / "data.jsonl").read_text()
    assert (flaky_out / "ledger.jsonl").read_text() == (clean_out / "ledger.jsonl").read_text()


def test_a_model_the_server_does_not_have_stops_the_step(tmp_path: Path):
    data = make_dataset(tmp_path / "in", 3)
    with FakeOpenAIServer(models=("other-model",)) as server:
        spec = BackendSpec(kind="openai", base_url=server.url, model="fake-model")
        with pytest.raises(StepAborted, match=r"'fake-model' is not served .* other-model"):
            run_step(RecaptionConfig(), data, tmp_path / "out", spec, options=QUIET)
        assert server.requests == 0


def test_an_outage_stops_the_step_and_a_rerun_finishes_it(tmp_path: Path):
    data = make_dataset(tmp_path / "in", 30)
    with FakeOpenAIServer(answer=teacher, faults=always_fail(1.0, "500")) as down:
        with pytest.raises(StepAborted, match="5 records in a row failed"):
            options = RunOptions(progress=False, max_consecutive_failures=5)
            run_step(
                RecaptionConfig(), data, tmp_path / "out", _spec(down, max_retries=0, concurrency=1), options=options
            )
        assert down.requests < 30
    assert not (tmp_path / "out/ledger.jsonl").exists()  # not finished: no ledger pretends otherwise
    with FakeOpenAIServer(answer=teacher) as up:
        done = run_step(RecaptionConfig(), data, tmp_path / "out", _spec(up), options=QUIET)
    assert done.summary["kept"] == 30
    _check_accounting(tmp_path / "out", 30)
