"""The one plug-in loader: import modules named in a file or on the command line, so they register what they add."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from typing import Any

from ayavision.errors import ConfigError


def load_plugins(modules: Iterable[str], where: str) -> None:
    """Import each module once; one that cannot be imported is a ``ConfigError`` naming it and ``where`` it was
    listed ("plugins", "--plugin", a file's field). An error raised by the module's own code is a bug in it and
    keeps its traceback."""
    for module in dict.fromkeys(modules):
        if module in sys.modules:
            continue
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ConfigError(f"{where}: cannot import {module!r}: {err}") from None


def listed_plugins(raw: Any) -> list[str]:
    """The ``plugins`` of a config file's mapping, read before it is validated (a plug-in may register a step the
    file names); anything but a list of names is left for the validation to report."""
    plugins = raw.get("plugins") if isinstance(raw, dict) else None
    if isinstance(plugins, list) and all(isinstance(module, str) for module in plugins):
        return plugins
    return []
