"""The GPU SFT-step script runs its whole path on a CPU with a tiny shape, so it is ready when a GPU is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[2]


def test_gpu_sft_step_script_runs_on_cpu_with_a_tiny_shape():
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "gpu_sft_step.py"),
            "--shape",
            "tiny",
            "--steps",
            "2",
            "--seq-len",
            "512",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["shape"] == "tiny" and figures["steps_timed"] == 1
    assert figures["tokens_per_s"] > 0 and figures["supervised_tokens_per_s"] > 0
    assert 0 < figures["trainable"] < figures["parameters"]  # the vision tower stays frozen
