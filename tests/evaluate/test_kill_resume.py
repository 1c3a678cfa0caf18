"""kill -9 ``eval generate`` mid-run against a flaky endpoint, run it again: every item answered once, none redone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ayavision.testing.openai_server import FakeOpenAIServer, first_attempt_faults
from ayavision.testing.processes import kill_9_after

from .helpers import write_jsonl

ROOT = Path(__file__).resolve().parents[2]
CLI = "from ayavision.cli.main import app; app()"
ITEMS = 60


def _command(data: Path, out: Path, url: str) -> list[str]:
    return [
        sys.executable, "-c", CLI, "eval", "generate", "--bench", "m-arenahard", "--data", str(data),
        "--out", str(out), "--base-url", url, "--served-model", "fake-model", "--concurrency", "3",
        "--backend-option", "backoff_base=0.01", "--backend-option", "backoff_max=0.05", "--no-progress",
    ]  # fmt: skip


def _answers(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_eval_generate_kill_9_and_resume_against_a_flaky_endpoint(tmp_path: Path) -> None:
    rows = [{"question_id": f"q{i}", "category": "c", "cluster": "k", "prompt": f"Question {i}?"} for i in range(ITEMS)]
    write_jsonl(tmp_path / "data" / "fr" / "test.jsonl", rows)
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # A third of the requests fail their first attempt (rate limit, server error, malformed reply): retried.
    faults = first_attempt_faults(0.3, kinds=("429", "500", "malformed"), seed=5)
    with FakeOpenAIServer(latency=0.05, faults=faults) as server:
        clean = subprocess.run(_command(data, tmp_path / "clean.jsonl", server.url), env=env, capture_output=True)
        assert clean.returncode == 0, clean.stderr.decode()
        server.reset_stats()

        out = tmp_path / "answers.jsonl"
        process = subprocess.Popen(_command(data, out, server.url), env=env, stderr=subprocess.PIPE)
        committed = kill_9_after(process, out, 15)
        assert process.returncode == -signal.SIGKILL and 15 <= committed < ITEMS  # really killed mid-run
        first_run = dict(server.answered_keys)

        resumed = subprocess.run(_command(data, out, server.url), env=env, capture_output=True)
        assert resumed.returncode == 0, resumed.stderr.decode()
        assert sum(server.faults_sent.values()) > 0  # the endpoint really was flaky

    answers = _answers(out)
    # Every item answered exactly once, with the answer an uninterrupted run gives.
    assert sorted(a["id"] for a in answers) == sorted(a["id"] for a in _answers(tmp_path / "clean.jsonl"))
    assert len({a["id"] for a in answers}) == ITEMS == len(answers)
    clean_text = {a["id"]: a["answer"] for a in _answers(tmp_path / "clean.jsonl")}
    assert {a["id"]: a["answer"] for a in answers} == clean_text
    # No finished request was redone: each request was answered once, except those in flight at the kill
    # (at most the concurrency, 3), whose answers never reached the killed client.
    redone = sum(count - 1 for count in server.answered_keys.values())
    assert redone <= 3 and sum(server.answered_keys[key] > 1 for key in first_run) <= 3
    assert len(server.answered_keys) == ITEMS
    # The answers that arrived before the kill were kept in the engine's request cache, next to the answers.
    assert list((tmp_path / "answers.jsonl.cache").glob("*.jsonl"))
    assert f"{committed} already" in resumed.stdout.decode()
