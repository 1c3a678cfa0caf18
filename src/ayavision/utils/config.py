"""One config loader (``load_config``), one path rule (relative to the file) and one ``Strict`` base for configs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ayavision.errors import ConfigError
from ayavision.utils.errors import format_validation_error
from ayavision.utils.overrides import Override, OverrideError, apply_overrides
from ayavision.utils.yamlfile import read_yaml_mapping


class Strict(BaseModel):
    """The base of every config model: an unknown key is refused, so a typo never passes as a default."""

    model_config = ConfigDict(extra="forbid")


class FrozenStrict(Strict):
    """A ``Strict`` config whose values cannot change once made (settings that key a cache, say)."""

    model_config = ConfigDict(frozen=True)


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class PathText:
    """Marks a ``str`` field that holds a path (``Annotated[str | None, PathText(keep={"tiny"})]``): it is
    resolved as a ``Path`` field is, except for the words in ``keep``, which name something that is no path."""

    keep: frozenset[str] = field(default_factory=frozenset)


def resolve_path(path: Path, folder: Path) -> Path:
    """The path rule: ``~`` is home; a relative path is relative to ``folder`` (the config file's), made absolute;
    a path that starts with a placeholder (``{run}/data``) is left as it is, to be filled in later."""
    if str(path).startswith("{"):
        return path
    path = path.expanduser()
    return path if path.is_absolute() else (folder / path).resolve()


def resolve_paths(config: M, folder: Path) -> M:
    """``config`` with every ``Path`` in it (at any depth, in lists and mappings too) and every ``PathText`` field
    resolved against ``folder`` by ``resolve_path``."""
    return _resolve(config, folder, None)


def _resolve(value: Any, folder: Path, text: PathText | None) -> Any:
    if isinstance(value, Path):
        return resolve_path(value, folder)
    if isinstance(value, str):
        return value if text is None or value in text.keep else str(resolve_path(Path(value), folder))
    if isinstance(value, BaseModel):
        updates = {}
        for name, info in type(value).model_fields.items():
            marker = next((m for m in info.metadata if isinstance(m, PathText)), None)
            old = getattr(value, name)
            new = _resolve(old, folder, marker)
            if new is not old:
                updates[name] = new
        return value.model_copy(update=updates) if updates else value
    if isinstance(value, list | tuple):
        items = [_resolve(item, folder, text) for item in value]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return type(value)(items) if changed else value
    if isinstance(value, dict):
        entries = {key: _resolve(item, folder, text) for key, item in value.items()}
        return entries if any(entries[key] is not item for key, item in value.items()) else value
    return value


def load_config(
    path: str | Path,
    model: type[M],
    *,
    overrides: Iterable[Override] = (),
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    section: str | None = None,
    error: type[Exception] = ConfigError,
    what: str = "config file",
    empty_ok: bool = False,
) -> M:
    """Read a YAML (or JSON) mapping, set ``overrides`` (dotted key, value: `--set`), ``prepare`` it, validate it as
    ``model`` and resolve its relative paths against the file's folder (``resolve_paths``).

    Every problem is one ``error`` (a ``ConfigError`` by default) naming the file (with the `--set` keys when there
    are any) and the field or line at fault. ``prepare`` sees the raw mapping first (to import the plug-ins it
    lists, say) and may raise a ``ConfigError``. ``section``: the file's mapping under that key, when it has one,
    is the config (a recipe's ``train:``); ``what`` names the kind of file in messages; ``empty_ok``: an empty
    file is ``{}``.
    """
    path = Path(path)
    raw = read_yaml_mapping(path, error, what, empty_ok=empty_ok)
    overrides = list(overrides)
    try:
        raw = apply_overrides(raw, overrides)
    except OverrideError as err:
        raise error(f"{path}: {err}") from None
    label = f"{path} (with --set {', '.join(key for key, _ in overrides)})" if overrides else str(path)
    if prepare is not None:
        try:
            raw = prepare(raw)
        except ConfigError as err:
            raise error(f"{label}: {err}") from None
    prefix = ""
    if section is not None and section in raw:
        raw, prefix = raw[section], f"{section}."
    try:
        config = model.model_validate(raw)
    except ValidationError as err:
        raise error(f"{label}: {prefix}{format_validation_error(err)}") from None
    return resolve_paths(config, path.resolve().parent)
