"""The one small interface every backend implements, and the registry that maps names to backends."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ChatRequest:
    """A chat in Hugging Face format.

    ``messages`` are ``{"role", "content"}`` dicts; content is a string or a list of parts
    ``{"type": "text", "text": ...}`` / ``{"type": "image", "image": PIL.Image | bytes | path}``.
    ``max_tokens`` is always explicit: a silent library default truncates long answers.
    """

    messages: list[dict[str, Any]]
    max_tokens: int
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # backend-specific generation settings


@dataclass(frozen=True)
class ChatResponse:
    text: str
    finish_reason: str | None = None  # "stop", "length", ...: "length" means the answer was cut
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class BackendError(RuntimeError):
    """A request that failed for good (after any retries); ``retryable`` says whether a later run may succeed."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Backend(abc.ABC):
    """Answers chat requests. Knows nothing of steps, records or caches."""

    name: str = "backend"

    @abc.abstractmethod
    async def chat(self, request: ChatRequest) -> ChatResponse: ...

    @abc.abstractmethod
    def identity(self) -> dict[str, Any]:
        """What determines the answers (backend kind, model, endpoint...): part of every cache key. No secrets."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections or models."""


BackendFactory = Callable[..., Backend]
_REGISTRY: dict[str, BackendFactory] = {}


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Decorator: make a backend available by name, e.g. from a plug-in such as the shapes world."""

    def decorate(factory: BackendFactory) -> BackendFactory:
        if name in _REGISTRY and _REGISTRY[name] is not factory:
            raise ValueError(f"a backend named {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return decorate


def available_backends() -> list[str]:
    _load_builtin_backends()
    return sorted(_REGISTRY)


def create_backend(name: str, **options: Any) -> Backend:
    _load_builtin_backends()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; available: {', '.join(sorted(_REGISTRY))}") from None
    return factory(**options)


def _load_builtin_backends() -> None:
    """Import the built-in backends lazily, so that importing the interface pulls in no HTTP or torch code."""
    import importlib

    for module in ("ayavision.backends.openai", "ayavision.backends.transformers"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:  # a real missing dependency, not a backend not written yet
                raise
