"""One registry type for everything found by name: backends, steps, benchmarks, metrics, data sources, sections."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from ayavision.errors import ConfigError
from ayavision.utils.plugins import load_plugins

T = TypeVar("T")
_MISSING: Any = object()


def _describe(obj: object) -> str:
    qualname = getattr(obj, "__qualname__", None)
    if qualname is not None:
        return f"{getattr(obj, '__module__', '?')}.{qualname}"
    return f"a {type(obj).__name__} from {type(obj).__module__}"


class Registry(Generic[T]):
    """Objects of one ``kind`` ("backend", "step", ...) by name, kept in the order they were registered.

    One rule for a taken name: registering the same object again (or an equal one: a frozen dataclass made
    anew) is a no-op, so importing a plug-in twice is harmless; a different object is refused, naming both.
    ``builtins`` are modules imported (as plug-ins are) before the first lookup: the registry's own module
    never imports the modules that fill it, so no import cycle runs through it.
    """

    def __init__(self, kind: str, *, builtins: Iterable[str] = ()) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._builtins = tuple(builtins)
        self._loaded = not self._builtins

    def add(self, name: str, obj: T) -> T:
        existing = self._entries.get(name, _MISSING)
        if existing is not _MISSING and existing is not obj and existing != obj:
            raise ConfigError(
                f"a {self.kind} named {name!r} is already registered ({_describe(existing)}); "
                f"{_describe(obj)} cannot take its name"
            )
        self._entries[name] = obj
        return obj

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@REGISTRY.register("name")`` adds the decorated object and returns it unchanged."""

        def decorate(obj: T) -> T:
            return self.add(name, obj)

        return decorate

    def _load_builtins(self) -> None:
        if not self._loaded:
            self._loaded = True  # first: a built-in module that looks itself up must not import itself again
            try:
                load_plugins(self._builtins, f"built-in {self.kind}s")
            except BaseException:
                self._loaded = False
                raise

    def get(self, name: str, default: Any = _MISSING) -> T:
        """The object registered as ``name``; unknown: ``default`` if given, else a ``ConfigError`` naming all."""
        self._load_builtins()
        found = self._entries.get(name, _MISSING)
        if found is not _MISSING:
            return found
        if default is not _MISSING:
            return default
        raise ConfigError(f"unknown {self.kind} {name!r}; available: {', '.join(self.names()) or 'none'}")

    def names(self) -> list[str]:
        self._load_builtins()
        return sorted(self._entries)

    def values(self) -> list[T]:
        self._load_builtins()
        return list(self._entries.values())

    def items(self) -> list[tuple[str, T]]:
        self._load_builtins()
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        self._load_builtins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        self._load_builtins()
        return iter(list(self._entries))

    def __len__(self) -> int:
        self._load_builtins()
        return len(self._entries)

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    # Replacing and removing bypass the rule above on purpose: tests swap an entry in and take theirs out again.
    def __setitem__(self, name: str, obj: T) -> None:
        self._entries[name] = obj

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def pop(self, name: str, default: Any = _MISSING) -> T:
        if default is _MISSING:
            return self._entries.pop(name)
        return self._entries.pop(name, default)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
