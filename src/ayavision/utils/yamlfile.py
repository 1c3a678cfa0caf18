"""Read a YAML or JSON config file into a mapping, with errors that name the file (and the line, for bad syntax)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


def read_yaml_mapping(
    path: str | Path, error: type[Exception] = ValueError, what: str = "file", empty_ok: bool = False
) -> dict[str, Any]:
    """The top-level mapping of a YAML (or JSON) file; ``error`` is raised naming the file for any problem.

    ``what`` names the kind of file in messages ("recipe file", "pipeline file"); an empty file is ``{}`` only
    when ``empty_ok``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except OSError as err:
        raise error(f"{path}: cannot read the {what}: {err.strerror or err}") from None
    try:
        # A .json file is read as JSON, so its errors are JSON's (YAML would also read most of it).
        raw = json.loads(text) if path.suffix == ".json" and text.strip() else yaml.safe_load(text)
    except json.JSONDecodeError as err:
        raise error(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise error(f"{where}: not valid YAML ({getattr(err, 'problem', None) or err})") from None
    if raw is None and empty_ok:
        return {}
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping at the top level of the {what}, got {type(raw).__name__}")
    return raw
