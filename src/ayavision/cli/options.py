"""Typed groups of command-line options: a dataclass whose fields are typer options, flattened into a command.

A command declares ``backend: BackendArgs`` (say) instead of ten parameters; ``grouped`` puts the group's fields
into the command's signature for typer and hands the command one typed instance. No ``locals()`` contract.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, get_type_hints

F = TypeVar("F", bound=Callable[..., Any])


def grouped(command: F) -> F:
    """Let ``command``'s parameters typed as option dataclasses arrive as instances, their fields as options."""
    hints = get_type_hints(command, include_extras=True)
    signature = inspect.signature(command)
    groups: dict[str, tuple[type, list[str]]] = {}
    flat: list[inspect.Parameter] = []
    for name, parameter in signature.parameters.items():
        kind = hints.get(name)
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            field_hints = get_type_hints(kind, include_extras=True)
            names = [field.name for field in dataclasses.fields(kind)]
            groups[name] = (kind, names)
            for field in dataclasses.fields(kind):
                flat.append(
                    inspect.Parameter(
                        field.name,
                        inspect.Parameter.KEYWORD_ONLY,
                        default=field.default,
                        annotation=field_hints[field.name],
                    )
                )
        else:
            flat.append(parameter.replace(annotation=hints.get(name, parameter.annotation)))

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        for name, (kind, names) in groups.items():
            kwargs[name] = kind(**{field: kwargs.pop(field) for field in names})
        return command(**kwargs)

    wrapper.__signature__ = signature.replace(parameters=_ordered(flat))  # type: ignore[attr-defined]
    wrapper.__annotations__ = {}  # typer reads the signature above, not the grouped hints
    return wrapper  # type: ignore[return-value]


def _ordered(parameters: list[inspect.Parameter]) -> list[inspect.Parameter]:
    """Keyword-only from the first keyword-only on: a signature may not put a positional after one."""
    out, keyword = [], False
    for parameter in parameters:
        keyword = keyword or parameter.kind is inspect.Parameter.KEYWORD_ONLY
        out.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY) if keyword else parameter)
    return out
