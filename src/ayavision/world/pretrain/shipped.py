"""The pretrained parts shipped with the package: copied into a run when its settings are the ones they were built with.

They are the demo's analogue of downloading SigLIP and an LLM: built once by ``ayavision world parts`` with the
default settings, for longer than a demo could afford (their ``world.json`` records the settings, the scores
and the time), and committed under ``ayavision/world/parts``. A run whose settings differ, or a checkout
without them, builds its own with the same code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ayavision.utils.fs import atomic_dir
from ayavision.world.cache import MARKER, VERSION
from ayavision.world.config import Strict
from ayavision.world.pretrain.common import tokenizer_key

SHIPPED_PARTS = Path(__file__).resolve().parent.parent / "parts"
PART_KINDS = {"tokenizer": "tokenizer", "encoder": "encoder", "text-llm": "text-llm"}


def shipped_summary(name: str, shipped: Path = SHIPPED_PARTS) -> dict | None:
    """The ``world.json`` of a shipped part, or None when this checkout has none."""
    try:
        return json.loads((shipped / name / MARKER).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def install_shipped(
    name: str, out: str | Path, config: Strict, tokenizer: str | Path | None = None, shipped: Path = SHIPPED_PARTS
) -> bool:
    """Copy shipped part ``name`` to ``out`` if it was built with ``config`` (and this tokenizer); True if copied.

    ``out`` is left alone when it already holds a finished part: the caller's cache decides about it.
    """
    summary = shipped_summary(name, shipped)
    if summary is None or (Path(out) / MARKER).exists():
        return False
    same = (
        summary.get("kind") == PART_KINDS[name]
        and summary.get("version") == VERSION
        and summary.get("fingerprint") == config.fingerprint()
        and (tokenizer is None or summary.get("tokenizer") == tokenizer_key(tokenizer))
    )
    if not same:
        return False
    with atomic_dir(out, overwrite=True) as tmp:
        shutil.copytree(shipped / name, tmp, dirs_exist_ok=True)
    return True
