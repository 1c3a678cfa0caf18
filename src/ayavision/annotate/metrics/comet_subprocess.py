"""COMET through a subprocess in its own environment (``unbabel-comet`` cannot live beside transformers 5)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from ayavision.annotate.config import CometConfig
from ayavision.errors import AyaVisionError, ConfigError


class CometError(AyaVisionError, RuntimeError):
    """The COMET environment failed; the message carries the end of its error output."""


def comet_scores(pairs: list[dict[str, str]], config: CometConfig, timeout: float | None = None) -> list[float]:
    """One COMET score per ``{"src", "mt"}`` pair, computed by ``config.python`` running ``comet_score.py``."""
    if not pairs:
        return []
    if not Path(config.python).exists():
        raise ConfigError(f"COMET python {config.python} does not exist (create an environment with unbabel-comet)")
    script = resources.files("ayavision.annotate.metrics") / "comet_score.py"
    with tempfile.TemporaryDirectory(prefix="ayavision-comet-") as tmp, resources.as_file(script) as script_path:
        source, target = Path(tmp) / "pairs.jsonl", Path(tmp) / "scores.json"
        source.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8")
        command = [
            str(config.python),
            str(script_path),
            "--model",
            config.model,
            "--input",
            str(source),
            "--output",
            str(target),
            "--batch-size",
            str(config.batch_size),
            "--gpus",
            str(config.gpus),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise CometError(f"COMET failed (exit {done.returncode}): {done.stderr.strip()[-800:]}")
        scores = json.loads(target.read_text(encoding="utf-8"))["scores"]
    if len(scores) != len(pairs):
        raise CometError(f"COMET returned {len(scores)} scores for {len(pairs)} pairs")
    return scores
