"""Typed access to a raw benchmark row: every failure names the row's FILE:LINE and the field at fault."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from ayavision.data.images import resolve_image_path
from ayavision.evaluate.items import ImageRef
from ayavision.evaluate.sources import BenchmarkDataError, Row


class RowFields:
    """Reads fields of one row; ``names`` may list aliases, the first present one is used."""

    def __init__(self, row: Row, root: Path) -> None:
        self.row = row
        self.root = root

    def error(self, field: str, message: str) -> BenchmarkDataError:
        return BenchmarkDataError(f"{self.row.where}: field {field!r}: {message}")

    def _find(self, names: tuple[str, ...]) -> tuple[str, Any]:
        for name in names:
            if name in self.row.values:
                return name, self.row.values[name]
        also = f" (also accepted: {', '.join(repr(n) for n in names[1:])})" if len(names) > 1 else ""
        present = ", ".join(sorted(self.row.values)) or "none"
        raise BenchmarkDataError(f"{self.row.where}: missing field {names[0]!r}{also}; the row has: {present}")

    def has(self, *names: str) -> bool:
        return any(self.row.values.get(name) not in (None, "") for name in names)

    def text(self, *names: str, required: bool = True) -> str | None:
        """A non-empty string (numbers are accepted and turned into text: ids are often integers)."""
        if not required and not any(name in self.row.values for name in names):
            return None
        name, value = self._find(names)
        if value is None:
            if not required:
                return None
            raise self.error(name, "is null")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(name, f"expected text, got {type(value).__name__}")
        text = str(value)
        if required and not text.strip():
            raise self.error(name, "is empty")
        return text

    def integer(self, *names: str) -> int:
        name, value = self._find(names)
        if isinstance(value, bool):
            raise self.error(name, "expected an integer, got a boolean")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise self.error(name, f"expected an integer, got {value!r}")

    def text_list(self, *names: str) -> list[str]:
        """A list of strings; also a JSON or Python-literal list stored as text (xMMMU, MTVQA do this)."""
        name, value = self._find(names)
        if isinstance(value, str):
            value = parse_literal(value)
            if value is None:
                raise self.error(name, "expected a list, got text that is not a JSON or Python list")
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise self.error(name, f"expected a list of strings, got {type(value).__name__}")
        items = []
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise self.error(f"{name}[{index}]", f"expected text, got {type(item).__name__}")
            items.append(str(item))
        return items

    def images(self, *names: str, required: bool = True) -> tuple[ImageRef, ...]:
        """Images from an image field: a struct ``{bytes, path}``, a path under the data root, or a list of them."""
        if not required and not any(name in self.row.values for name in names):
            return ()
        name, value = self._find(names)
        values = value if isinstance(value, list | tuple) else [value]
        refs = []
        for index, item in enumerate(values):
            label = f"{self.row.where}: {name}" + (f"[{index}]" if isinstance(value, list | tuple) else "")
            ref = self._image(item, label)
            if ref is not None:
                refs.append(ref)
        if required and not refs:
            raise self.error(name, "holds no image")
        return tuple(refs)

    def _image(self, item: Any, label: str) -> ImageRef | None:
        if item is None or item == "":
            return None
        if isinstance(item, dict):
            data = item.get("bytes")
            if isinstance(data, bytes | bytearray) and data:
                return ImageRef(data=bytes(data), label=label)
            item = item.get("path")
            if not item:
                raise BenchmarkDataError(f"{label}: image has neither bytes nor a path")
        if isinstance(item, bytes | bytearray):
            return ImageRef(data=bytes(item), label=label)
        if isinstance(item, str):
            try:
                path = resolve_image_path(self.root, item)
            except ValueError as err:
                raise BenchmarkDataError(f"{label}: {err}") from None
            if not path.is_file():
                raise BenchmarkDataError(f"{label}: image file {item!r} not found under {self.root}")
            return ImageRef(path=path, label=label)
        raise BenchmarkDataError(f"{label}: expected an image (bytes, a path or {{bytes, path}}), got {type(item)}")


def parse_literal(text: str) -> Any:
    """A list or dict written as JSON or as a Python literal; ``None`` if the text is neither."""
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return None
