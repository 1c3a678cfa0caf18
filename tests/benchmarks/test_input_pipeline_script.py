"""The input-pipeline benchmark runs end to end on a few photos: its figures can be rerun from the committed script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]


@pytest.mark.slow
def test_input_pipeline_benchmark_runs_and_compares_against_both_baselines():
    command = [sys.executable, str(REPO / "benchmarks" / "input_pipeline.py")]
    command += ["--samples", "2", "--photos", "3", "--workers", "0,1", "--repeats", "1"]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    gpu = next(line for line in lines if "gpu" in line)
    assert 8e9 < gpu["parameters"] < 9e9 and gpu["tiles_per_s"] > 0  # the aya-vision-8b shape
    summary = lines[-1]["summary (best of rounds)"]
    assert {"plain processor", "ayavision, 0 workers", "ayavision, 1 workers"} <= set(summary)
    assert all(s["tiles_per_s"] > 0 and s["vs_one_gpu"] > 0 for s in summary.values() if "tiles_per_s" in s)
