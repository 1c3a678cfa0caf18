"""Outputs cached by their config: a folder holds ``world.json`` (kind, config, fingerprint), written last."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ayavision.utils.fs import atomic_dir, atomic_write_text
from ayavision.world.config import Strict

MARKER = "world.json"
# Bump when what a generator or trainer writes changes for the same config: old outputs are then rebuilt.
VERSION = 2


def cached(out: str | Path, kind: str, config: Strict) -> dict[str, Any] | None:
    """The summary of a finished output of this kind and config in ``out``, or None (absent, other, partial)."""
    marker = Path(out) / MARKER
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if data.get("kind") != kind or data.get("fingerprint") != config.fingerprint() or data.get("version") != VERSION:
        return None
    return data


def software() -> dict[str, str]:
    """The versions that decide an output's bytes: a rebuild matches byte for byte only on the same ones (tokenizers'
    BPE trainer, for one, broke ties between equally frequent pairs differently from 0.23.3 on)."""
    versions = {}
    for name in ("torch", "transformers", "tokenizers"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "absent"
    return versions


@contextmanager
def building(
    out: str | Path, kind: str, config: Strict, overwrite: bool = True
) -> Iterator[tuple[Path, Callable[..., dict]]]:
    """Build into a temporary folder that replaces ``out`` only when complete; ``finish(**summary)`` marks it."""
    with atomic_dir(out, overwrite=overwrite) as tmp:

        def finish(**summary: Any) -> dict[str, Any]:
            data = {
                "kind": kind,
                "version": VERSION,
                "fingerprint": config.fingerprint(),
                "config": config.model_dump(mode="json"),
                "software": software(),
                **summary,
            }
            atomic_write_text(tmp / MARKER, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            return data

        yield tmp, finish
