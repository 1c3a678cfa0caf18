"""Typed groups of command-line options: a dataclass whose fields are typer options, flattened into a command.

A command declares ``backend: BackendArgs`` (say) instead of ten parameters; ``grouped`` puts the group's fields
into the command's signature for typer and hands the command one typed instance. No ``locals()`` contract.
The groups and builders that several command groups share (the executor flags, ``--backend-option`` parsing)
live here, so ``annotate`` and ``eval`` take the same flags from one piece of code.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_type_hints

import typer
import yaml

from ayavision.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])

Executor = Annotated[str, typer.Option("--executor", help="local or ray")]
Workers = Annotated[int | None, typer.Option("--workers", min=1, help="ray: worker actors")]
RayAddress = Annotated[str | None, typer.Option("--ray-address", help="ray: cluster address (default: start one)")]


@dataclass
class ExecutorArgs:
    """Where a job's items run: here, or on Ray workers (each builds its own backend); never changes the output."""

    executor: Executor = "local"
    workers: Workers = None
    ray_address: RayAddress = None

    def executor_config(self) -> Any:
        """The job engine's executor config the flags name (``--workers`` and ``--ray-address`` for Ray only)."""
        from ayavision.jobs import LocalExecutorConfig, RayExecutorConfig

        if self.executor == "local":
            return LocalExecutorConfig()
        if self.executor == "ray":
            ray_options = {"workers": self.workers, "address": self.ray_address}
            return RayExecutorConfig(**{k: v for k, v in ray_options.items() if v is not None})
        raise ConfigError(f"unknown executor {self.executor!r}; expected local or ray")


def backend_spec(kind: str, given: dict[str, Any], extra: list[str] | None) -> Any:
    """A ``BackendSpec`` from the flags given (None: not given) and ``--backend-option KEY=VALUE`` pairs.

    A value reads as YAML reads it (8 is a number, true a boolean, anything else text); an option overrides a flag.
    """
    from ayavision.backends.spec import BackendSpec

    options = {key: value for key, value in given.items() if value is not None}
    for item in extra or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--backend-option {item!r}: expected KEY=VALUE")
        options[key.strip().replace("-", "_")] = yaml.safe_load(value) if value else ""
    return BackendSpec(kind=kind, **options)


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
