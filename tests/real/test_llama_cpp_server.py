"""A real OpenAI-compatible server (llama-cpp-python serving SmolLM2's GGUF with its own ChatML template) answers every
request of `eval generate`, `eval judge` and a text-only annotation step.

llama-cpp-python builds from source (about 7 minutes on 2 cores), so it is not installed by scripts/setup.sh: these
tests run where `llama_cpp.server` imports, in this interpreter or the one AYAVISION_LLAMA_CPP_PYTHON names
(see docs/serving.md for the recorded run), and skip elsewhere, saying so.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from typer.testing import CliRunner

from ayavision.cli.main import app
from ayavision.testing.datasets import make_dataset

from ..evaluate.helpers import write_jsonl
from .conftest import CACHE

pytestmark = [pytest.mark.real, pytest.mark.slow]
GGUF = CACHE / "gguf" / "SmolLM2-135M-Instruct.Q4_1.gguf"
SERVED = "smollm2"
runner = CliRunner()


def _server_python() -> str:
    candidate = os.environ.get("AYAVISION_LLAMA_CPP_PYTHON", sys.executable)
    probe = subprocess.run([candidate, "-c", "import llama_cpp.server"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"llama-cpp-python's server is not importable by {candidate} (set AYAVISION_LLAMA_CPP_PYTHON)")
    if not GGUF.exists():
        pytest.skip(f"{GGUF} missing: run scripts/real_models.py")
    return candidate


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    python = _server_python()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [python, "-m", "llama_cpp.server", "--model", str(GGUF), "--model_alias", SERVED]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"]
    log_path = tmp_path_factory.mktemp("llama-cpp") / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 - a file, not a pipe: llama.cpp logs enough to fill a pipe and block
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not start within 120 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _arena(tmp_path: Path) -> Path:
    prompts = [
        ("en", "What is the capital of France?"),
        ("en", "Give me two tips for learning a language."),
        ("fr", "Quelle est la couleur du ciel ?"),
        ("fr", "Écris une phrase sur la mer."),
        ("de", "Was ist zwei plus zwei?"),
        ("es", "¿Cuál es el océano más grande?"),
    ]
    rows = [
        {"question_id": f"q{i}", "category": "test", "cluster": "test", "prompt": prompt, "language": language}
        for i, (language, prompt) in enumerate(prompts)
    ]
    return write_jsonl(tmp_path / "arena" / "test.jsonl", rows)


def _answers(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_eval_generate_and_judge_answer_every_item(server: str, tmp_path: Path) -> None:
    data = _arena(tmp_path)
    outputs = {}
    for name, tokens in (("short", "24"), ("long", "64")):
        out = tmp_path / f"{name}.jsonl"
        args = ["eval", "generate", "--bench", "m-arenahard", "--data", str(data), "--out", str(out)]
        args += ["--base-url", server, "--served-model", SERVED, "--max-new-tokens", tokens, "--concurrency", "2"]
        started = time.monotonic()
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert time.monotonic() - started < 300
        answers = _answers(out)
        assert len(answers) == 6 and all(a.get("answer", "").strip() for a in answers), answers
        outputs[name] = out
    args = ["eval", "judge", "--a", str(outputs["long"]), "--b", str(outputs["short"]), "--out", str(tmp_path / "j")]
    args += ["--base-url", server, "--model", SERVED, "--data", str(data), "--concurrency", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "j" / "results.json").read_text())
    assert results["complete"] and results["failed_requests"] == 0  # every game answered (verdicts may be unreadable)


def test_a_text_only_annotation_step_runs_end_to_end(server: str, tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", 4)
    out = tmp_path / "translate"
    args = ["annotate", "translate", "--input", str(data), "--out", str(out), "--base-url", server, "--model", SERVED]
    args += ["--languages", "fra_Latn", "--no-progress", "--concurrency", "2", "--max-tokens", "64"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    ledger = [json.loads(line) for line in (out / "ledger.jsonl").read_text().splitlines() if line.strip()]
    assert len(ledger) == 4 and not [entry for entry in ledger if entry.get("status") == "failed"], ledger
