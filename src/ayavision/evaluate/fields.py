"""Typed access to a raw benchmark row: every failure names the row's FILE:LINE and the field at fault."""

from __future__ import annotations

import ast
import functools
import json
import posixpath
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ayavision.data.images import resolve_image_path
from ayavision.evaluate.items import ImageRef
from ayavision.evaluate.sources import BenchmarkDataError, Row


@dataclass(frozen=True)
class FieldAlias:
    """Another name a field has in some revision of a benchmark; ``revision`` says which, so it is not guessed."""

    name: str  # the field the parser reads
    alias: str  # the name that revision uses instead
    revision: str


@dataclass(frozen=True)
class ImageArchive:
    """Where a download keeps the images its rows name by path, when they are not at that path.

    Kaleidoscope's rows say ``data/<source>/images/x.png`` while the pixels ship in ``data.zip`` as
    ``final_data/<source>/images/x.png``: ``ImageArchive("data/", "final_data/", "data.zip")`` finds them in
    an extracted ``final_data/`` folder or straight inside the zip, which is read in place, never extracted.
    """

    prefix: str  # how the rows' image paths start
    moved_to: str  # what that prefix is in the download: a folder at the root, and inside the archive
    archive: str | None = None  # a zip file at the dataset root


# An image member larger than this is refused rather than read into memory (images are kilobytes to megabytes).
MAX_ARCHIVE_MEMBER_BYTES = 128 * 1024 * 1024
_ZIP_LOCK = threading.Lock()  # a ZipFile shares one file handle: reads from generation threads take turns


@functools.lru_cache(maxsize=4)
def _open_zip(path: str, mtime_ns: int, size: int) -> zipfile.ZipFile:
    # Kept open between reads: opening parses the whole central directory (thousands of entries) every time.
    return zipfile.ZipFile(path)


def _zip(path: Path) -> zipfile.ZipFile:
    stat = path.stat()
    return _open_zip(str(path), stat.st_mtime_ns, stat.st_size)


def read_archive_member(archive: Path, member: str) -> bytes:
    """One member of a zip, read on demand (nothing is cached); refused above ``MAX_ARCHIVE_MEMBER_BYTES``."""
    with _ZIP_LOCK:
        handle = _zip(archive)
        info = handle.getinfo(member)
        if info.file_size > MAX_ARCHIVE_MEMBER_BYTES:
            raise BenchmarkDataError(
                f"{member} in {archive} holds {info.file_size} bytes, over {MAX_ARCHIVE_MEMBER_BYTES}"
            )
        return handle.read(info)  # zipfile stops at the declared size and checks the CRC


def _has_member(archive: Path, member: str) -> bool:
    with _ZIP_LOCK:
        handle = _zip(archive)
        try:
            handle.getinfo(member)
        except KeyError:
            return False
        return True


@dataclass(frozen=True)
class ArchiveImageRef(ImageRef):
    """An image inside a zip archive: only the archive's path and the member's name are held until it is read."""

    archive: Path | None = None
    member: str = ""

    def read_bytes(self) -> bytes:
        assert self.archive is not None
        try:
            return read_archive_member(self.archive, self.member)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
            raise FileNotFoundError(f"{self.label}: cannot read {self.member} from {self.archive} ({err})") from None


class ImageFinder:
    """Finds an image a row names by path: under the data root, or where the benchmark's ``ImageArchive``s say."""

    def __init__(self, root: Path, archives: Iterable[ImageArchive] = ()) -> None:
        self.root = root
        self.archives = tuple(archives)

    def find(self, relpath: str, label: str) -> ImageRef:
        try:
            path = resolve_image_path(self.root, relpath)
        except ValueError as err:
            raise BenchmarkDataError(f"{label}: {err}") from None
        if path.is_file():
            return ImageRef(path=path, label=label)
        tried = [str(path)]
        rel = posixpath.normpath(relpath.replace("\\", "/"))
        for place in self.archives:
            moved = place.moved_to + rel[len(place.prefix) :] if rel.startswith(place.prefix) else rel
            if moved != rel:
                extracted = self.root / moved
                if extracted.is_file():
                    return ImageRef(path=extracted, label=label)
                tried.append(str(extracted))
            ref = self._in_archive(place, dict.fromkeys((moved, rel)), label, tried)
            if ref is not None:
                return ref
        also = f" (tried {', '.join(tried)})" if len(tried) > 1 else ""
        raise BenchmarkDataError(f"{label}: image file {relpath!r} not found under {self.root}{also}")

    def _in_archive(self, place: ImageArchive, members: Iterable[str], label: str, tried: list[str]) -> ImageRef | None:
        if place.archive is None:
            return None
        archive = self.root / place.archive
        if not archive.is_file():
            tried.append(f"{archive} (absent)")
            return None
        for member in members:
            try:
                found = _has_member(archive, member)
            except (OSError, zipfile.BadZipFile) as err:
                raise BenchmarkDataError(f"{label}: cannot read the image archive {archive}: {err}") from None
            if found:
                return ArchiveImageRef(label=label, archive=archive, member=member)
            tried.append(f"{member} in {archive}")
        return None


class RowFields:
    """Reads fields of one row; ``names`` may list aliases, the first present one is used.

    ``aliases`` (the benchmark's ``FieldAlias``es) are tried after each name they stand for; ``finder`` locates
    images the row names by path (by default: under ``root``).
    """

    def __init__(
        self, row: Row, root: Path, *, aliases: Iterable[FieldAlias] = (), finder: ImageFinder | None = None
    ) -> None:
        self.row = row
        self.root = root
        self.finder = finder or ImageFinder(root)
        self._aliases: dict[str, list[FieldAlias]] = {}
        for alias in aliases:
            self._aliases.setdefault(alias.name, []).append(alias)

    def error(self, field: str, message: str) -> BenchmarkDataError:
        return BenchmarkDataError(f"{self.row.where}: field {field!r}: {message}")

    def _expand(self, names: tuple[str, ...]) -> tuple[str, ...]:
        expanded: list[str] = []
        for name in names:
            for candidate in (name, *(alias.alias for alias in self._aliases.get(name, ()))):
                if candidate not in expanded:
                    expanded.append(candidate)
        return tuple(expanded)

    def _find(self, names: tuple[str, ...]) -> tuple[str, Any]:
        present = [name for name in self._expand(names) if name in self.row.values]
        # Parquet gives a row every column: a null one yields to a later name that has a value.
        for name in present:
            if self.row.values[name] is not None:
                return name, self.row.values[name]
        if present:
            return present[0], None
        also = f" (also accepted: {', '.join(repr(n) for n in names[1:])})" if len(names) > 1 else ""
        fields = ", ".join(sorted(self.row.values)) or "none"
        revisions = [f"{a.alias!r} ({a.revision})" for name in names for a in self._aliases.get(name, ())]
        older = f"; also accepted: {', '.join(revisions)}" if revisions else ""
        raise BenchmarkDataError(f"{self.row.where}: missing field {names[0]!r}{also}; the row has: {fields}{older}")

    def _present(self, names: tuple[str, ...]) -> bool:
        return any(name in self.row.values for name in self._expand(names))

    def has(self, *names: str) -> bool:
        return any(self.row.values.get(name) not in (None, "") for name in self._expand(names))

    def text(self, *names: str, required: bool = True) -> str | None:
        """A non-empty string (numbers are accepted and turned into text: ids are often integers)."""
        if not required and not self._present(names):
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
            parsed = parse_literal(value)
            if parsed is None:
                preview = value if len(value) <= 80 else value[:77] + "..."
                raise self.error(name, f"expected a list, got text that is not a JSON or Python list: {preview!r}")
            value = parsed
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
        if not required and not self._present(names):
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
            return self.finder.find(item, label)
        raise BenchmarkDataError(f"{label}: expected an image (bytes, a path or {{bytes, path}}), got {type(item)}")


def _escape_breaks_in_strings(text: str) -> str:
    """``text`` with raw line breaks inside quoted strings written as ``\\n`` / ``\\r`` escapes.

    xMMMU stores options as a Python list in a string, and some options hold a raw newline, which Python's
    parser refuses inside a quoted string. Breaks between items are valid there and are left alone.
    """
    out: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if quote is not None and char == "\\" and i + 1 < len(text):
            out.append(text[i : i + 2])  # an escape: its second character cannot close the string
            i += 2
            continue
        if quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
        elif quote is not None and char in "\n\r":
            char = "\\n" if char == "\n" else "\\r"
        out.append(char)
        i += 1
    return "".join(out)


def parse_literal(text: str) -> Any:
    """A list or dict written as JSON or as a Python literal; ``None`` if the text is neither.

    A raw newline inside an item is accepted and kept in the item's text (JSON is read with ``strict=False``,
    a Python literal with the break escaped first): the option then reads exactly as the dataset wrote it.
    """
    attempts = [_lenient_json, ast.literal_eval]
    if "\n" in text or "\r" in text:
        attempts.append(lambda value: ast.literal_eval(_escape_breaks_in_strings(value)))
    for parse in attempts:
        try:
            return parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return None


def _lenient_json(text: str) -> Any:
    """JSON that may hold raw control characters (a newline) inside its strings."""
    return json.loads(text, strict=False)
