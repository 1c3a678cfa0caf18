"""The one small interface every backend implements, and the registry that maps names to backends."""

from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ayavision.errors import AyaVisionError
from ayavision.utils.registry import Registry


@dataclass(frozen=True)
class ChatRequest:
    """A chat in Hugging Face format.

    ``messages`` are ``{"role", "content"}`` dicts; content is a string or a list of parts
    ``{"type": "text", "text": ...}`` / ``{"type": "image", "image": PIL.Image | bytes | path}``.
    Pass images as the encoded file bytes where you can: they travel to HTTP servers unchanged and
    hash cheaply into the cache key.
    ``max_tokens`` is always explicit: a silent library default truncates long answers.
    ``extra`` holds backend-specific generation settings (sent to the model, e.g. ``top_p``);
    ``hints`` holds facts a specialised backend may use and a chat backend ignores, e.g. the
    ``src_lang`` / ``tgt_lang`` (NLLB codes) of a translation request for a seq2seq MT model.
    """

    messages: list[dict[str, Any]]
    max_tokens: int
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # backend-specific generation settings
    hints: dict[str, Any] = field(default_factory=dict)  # task facts for specialised backends

    def fingerprint(self) -> str:
        """A hex digest of everything that determines the answer: messages (images by content), settings, hints."""
        from ayavision.backends.media import canonical_messages

        payload = {
            "messages": canonical_messages(self.messages),
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stop": list(self.stop),
            "seed": self.seed,
            "extra": self.extra,
            "hints": self.hints,
        }
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChatResponse:
    text: str
    finish_reason: str | None = None  # "stop", "length", ...: "length" means the answer was cut
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class BackendError(AyaVisionError, RuntimeError):
    """A request that failed for good (after any retries).

    ``retryable``: a later run may succeed (rate limits, an overloaded server), so a resumed run retries it.
    ``fatal``: no request can succeed (unreachable endpoint, unknown model, bad key): callers stop the whole
    run instead of failing every record one by one.
    """

    def __init__(self, message: str, retryable: bool = False, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.fatal = fatal


class Backend(abc.ABC):
    """Answers chat requests. Knows nothing of steps, records or caches.

    Implementations must be safe to call concurrently from one event loop (callers issue many
    ``chat`` coroutines at once and rely on the backend to cap its own concurrency).
    """

    name: str = "backend"

    @abc.abstractmethod
    async def chat(self, request: ChatRequest) -> ChatResponse: ...

    @abc.abstractmethod
    def identity(self) -> dict[str, Any]:
        """What determines the answers (backend kind, model, endpoint...): part of every cache key. No secrets."""

    @property
    def preferred_concurrency(self) -> int:
        """How many requests callers should keep in flight to keep this backend busy (its cap, or its batch)."""
        return 8

    async def check(self) -> None:  # noqa: B027 - optional hook
        """Fail fast, before any record is processed: raise ``BackendError(fatal=True)`` if nothing can work.

        E.g. an endpoint that cannot be reached, or a model it does not serve. The default checks nothing.
        """

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections or models."""

    async def __aenter__(self) -> Backend:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


BackendFactory = Callable[..., Backend]
# The built-in backends are imported on the first lookup, so that importing the interface pulls in no HTTP or
# torch code.
BACKENDS: Registry[BackendFactory] = Registry(
    "backend", builtins=("ayavision.backends.openai", "ayavision.backends.transformers")
)


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Decorator: make a backend available by name, e.g. from a plug-in such as the shapes world.

    The factory is called with the backend's options as keyword arguments (from the CLI or a pipeline
    file) and should reject unknown ones with a ``ValueError`` that names them.
    """
    return BACKENDS.register(name)


def available_backends() -> list[str]:
    return BACKENDS.names()


def create_backend(name: str, **options: Any) -> Backend:
    return BACKENDS.get(name)(**options)
