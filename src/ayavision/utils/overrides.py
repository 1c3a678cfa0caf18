"""One-off changes to a config file (a recipe): `--set dotted.key=value`, set in its mapping before it is validated.

A value is read as YAML (``3``, ``1e-4``, ``true``, ``[a, b]``, ``{original: 0.3}``; anything else is a string), so
it is checked by the same typed models as the file: a wrong type or an unknown key fails naming the key. A number
in the path indexes a list (``evaluate.benches.0.languages=[fra_Latn]``). A missing mapping on the way is created.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import yaml

from ayavision.errors import ConfigError

Override = tuple[str, Any]  # (dotted key, value)


class OverrideError(ConfigError):
    """A `--set` that cannot be read or applied; the message names it."""


def parse_override(text: str) -> Override:
    """``"train.stages.sft.max_steps=400"`` -> ``("train.stages.sft.max_steps", 400)``."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise OverrideError(f"--set {text!r}: expected dotted.key=value (e.g. train.stages.sft.max_steps=400)")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError as err:
        raise OverrideError(f"--set {key}: the value {value!r} is not valid YAML ({err})") from None
    return key, parsed


def apply_overrides(raw: dict[str, Any], overrides: Iterable[Override]) -> dict[str, Any]:
    """A copy of ``raw`` with each (dotted key, value) set, in order; the file's mapping is left as it was."""
    result = copy.deepcopy(raw)
    for key, value in overrides:
        _set(result, key, value)
    return result


def _set(root: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node: Any = root
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        above = ".".join(parts[:depth]) or "the recipe"
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise OverrideError(f"--set {key}: {above} is a list of {len(node)}; {part!r} is not an index into it")
            index: int | str = int(part)
        elif isinstance(node, dict):
            index = part
            if not last and node.get(part) is None:
                node[part] = {}
        else:
            raise OverrideError(f"--set {key}: {above} is a {type(node).__name__}, not a mapping")
        if last:
            node[index] = value
            return
        node = node[index]
