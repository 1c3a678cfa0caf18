"""kill -9 a step in a subprocess mid-run, start it again: no finished request redone, same output as a clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ayavision.testing.openai_server import FakeOpenAIServer
from ayavision.testing.processes import kill_9_after
from tests.annotate.helpers import make_dataset, teacher

ROOT = Path(__file__).resolve().parents[2]
CLI = "from ayavision.cli.annotate import annotate_app; annotate_app()"


def _command(data: Path, out: Path, url: str) -> list[str]:
    return [
        sys.executable, "-c", CLI, "recaption", "--input", str(data), "--out", str(out),
        "--base-url", url, "--model", "fake-model", "--concurrency", "3", "--no-progress",
    ]  # fmt: skip


@pytest.mark.slow
def test_kill_9_and_resume(tmp_path: Path):
    data = make_dataset(tmp_path / "in", 60)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with FakeOpenAIServer(answer=teacher, latency=0.05) as server:
        clean = subprocess.run(
            _command(data, tmp_path / "clean", server.url), env=env, capture_output=True, timeout=120
        )
        assert clean.returncode == 0, clean.stderr.decode()
        server.reset_stats()

        out = tmp_path / "killed"
        journal = out / ".work" / "journal.jsonl"
        process = subprocess.Popen(_command(data, out, server.url), env=env, stderr=subprocess.PIPE)
        committed = kill_9_after(process, journal, 15)
        assert process.returncode == -signal.SIGKILL and 15 <= committed < 60  # really killed mid-run
        assert not (out / "ledger.jsonl").exists() and not (out / "data.jsonl").exists()
        first_run = dict(server.attempts)

        resumed = subprocess.run(_command(data, out, server.url), env=env, capture_output=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr.decode()

    # Each request went out once, except those in flight at the kill (at most the concurrency, 3).
    total_attempts = sum(server.attempts.values())
    assert total_attempts - len(server.attempts) <= 3
    assert sum(server.attempts[key] > 1 for key in first_run) <= 3
    assert (out / "data.jsonl").read_bytes() == (tmp_path / "clean" / "data.jsonl").read_bytes()
    assert (out / "ledger.jsonl").read_bytes() == (tmp_path / "clean" / "ledger.jsonl").read_bytes()
    assert b"kept 60" in resumed.stdout
