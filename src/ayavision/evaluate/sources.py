"""Read benchmark rows from local files — JSONL, JSON, Parquet, or a Hugging Face dataset folder — never a hub.

Accepted layouts of ``--data PATH``:

- one ``.jsonl`` / ``.json`` (a list of objects) / ``.parquet`` file;
- a folder of such files, searched recursively, as ``huggingface-cli download --repo-type dataset`` leaves it
  (``eng_Latn/test-00000-of-00001.parquet``: the config folder names the language);
- a folder written by ``datasets``' ``save_to_disk`` (a ``Dataset`` or a ``DatasetDict`` whose split names may
  be languages, as in xMMMU and MaXM).

Each row comes with where it was read (``FILE:LINE`` or ``FILE:row N``) for error messages, and the language
its path names, if any (a config folder, a split, or a file name such as ``..._Arabic.parquet``).

A download often holds splits a benchmark does not score (MTVQA's ``train-*.parquet`` next to its
``test-*.parquet``; MaXM's ``en_yesno-*.parquet``). A ``SplitFilter`` names the scored ones; the split of each
file is read from the Hugging Face naming (``<split>-00000-of-00001.parquet``, ``test-*.parquet``, a ``test/``
folder) or a ``DatasetDict``'s split names, and every part left out is reported with its row count.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ayavision.errors import AyaVisionError
from ayavision.languages import LANGUAGES, Language, get_language, is_known_language

ROW_SUFFIXES = (".jsonl", ".json", ".parquet")
_BATCH_ROWS = 64  # rows carry image bytes: small batches keep memory bounded

# Codes seen in benchmark files that are not the registry's: old or informal ISO codes and locale tags.
_ALIASES = {"iw": "he", "kr": "ko", "jp": "ja", "cn": "zh", "ua": "uk", "gr": "el", "cz": "cs", "in": "id"}
_NAMES = {
    "farsi": "fa",
    "mandarin": "zh",
    "chinese simplified": "zh",
    "simplified chinese": "zh",
    "modern standard arabic": "ar",
}
for _lang in LANGUAGES:
    _NAMES[_lang.english_name.casefold()] = _lang.iso
    _NAMES[_lang.english_name.split(" (")[0].casefold()] = _lang.iso
    _NAMES[_lang.native_name.casefold()] = _lang.iso


class BenchmarkDataError(AyaVisionError, ValueError):
    """A benchmark file or row that cannot be used; the message names the file, the row and the field."""


def language_of(value: Any) -> Language | None:
    """The registry language a benchmark's language value names, or ``None`` when it is none of the 23.

    Accepts NLLB and ISO 639-1 codes in any case, locale tags (``pt-BR``, ``zh_Hans``), old codes (``iw``),
    English and native names (``Arabic``, ``Français``) and CVQA's ``('Japanese', 'Japan')`` pairs.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.startswith("(") and text.endswith(")"):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            parsed = None
        if isinstance(parsed, tuple) and parsed:
            return language_of(parsed[0])
    if is_known_language(text):
        return get_language(text)
    folded = text.casefold()
    if folded in _NAMES:
        return get_language(_NAMES[folded])
    for candidate in (folded, re.split(r"[-_]", folded)[0]):
        code = _ALIASES.get(candidate, candidate)
        if is_known_language(code):
            return get_language(code)
    return None


_NLLB_IN_TEXT = re.compile(r"(?<![A-Za-z])([a-z]{3}_[A-Z][a-z]{3})(?![A-Za-z])")


def language_from_path(parts: list[str]) -> Language | None:
    """The language named by the deepest path part: a config folder, a split name or a token of a file name."""
    for part in reversed(parts):
        lang = language_of(part)
        if lang is not None:
            return lang
        match = _NLLB_IN_TEXT.search(part)
        if match and is_known_language(match.group(1)):
            return get_language(match.group(1))
        tokens = [token for token in re.split(r"[-_.\s]+", part) if token]
        # A file name like "hi-00000-of-00001" starts with its code; "..._with_image_Arabic" names its language.
        if tokens and len(tokens[0]) == 2 and language_of(tokens[0]) is not None:
            return language_of(tokens[0])
        for token in tokens:
            if len(token) > 3 and token.casefold() in _NAMES:
                return get_language(_NAMES[token.casefold()])
    return None


@dataclass(frozen=True)
class Row:
    """One raw benchmark row, where it was read, and the language its path names (if any)."""

    where: str
    values: dict[str, Any]
    path_language: Language | None
    ordinal: int  # position in the whole dataset: a stable id for benchmarks whose rows have none


def _iter_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise BenchmarkDataError(f"{where}: line is not valid UTF-8 ({err.reason})") from None
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as err:
                raise BenchmarkDataError(f"{where}: invalid JSON: {err.msg} (column {err.colno})") from None
            if not isinstance(value, dict):
                raise BenchmarkDataError(f"{where}: expected a JSON object, got {type(value).__name__}")
            yield where, value


def _iter_json(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BenchmarkDataError(f"{path}: not a readable JSON file ({err})") from None
    if not isinstance(value, list):
        raise BenchmarkDataError(f"{path}: expected a JSON list of objects, got {type(value).__name__}")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise BenchmarkDataError(f"{path}: item {index}: expected an object, got {type(item).__name__}")
        yield f"{path}:item {index}", item


def _iter_parquet(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise BenchmarkDataError(f"{path}: cannot read Parquet file: {err}") from None
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS):
            for value in batch.to_pylist():
                yield f"{path}:row {row}", value
                row += 1
    except (pa.ArrowException, OSError) as err:
        raise BenchmarkDataError(f"{path}:row {row}: cannot read Parquet rows: {err}") from None
    finally:
        parquet.close()


# The words ``datasets`` takes for split names when files are not named ``<split>-NNNNN-of-NNNNN``.
_SPLIT_WORDS = frozenset(
    {"train", "training", "validation", "valid", "val", "dev", "test", "testing", "eval", "evaluation"}
)
# ``push_to_hub`` names shards ``<split>-00000-of-00003`` (older versions append ``-<hash>``); a split name is \w+.
_SHARD = re.compile(r"^(\w+)-\d{5}-of-\d{5}(?:-[0-9a-f]+)?$")
_SPLIT_PREFIX = re.compile(r"^([A-Za-z]+)(?:[-._ 0-9].*)?$")


def split_of(parts: list[str]) -> str | None:
    """The split a file's path names (its parts under the root, stem last), or ``None`` when it names none.

    A shard name gives any split (``en_yesno-00000-of-00001``); otherwise only the usual split words count,
    as a file-name prefix (``test-0``) or a folder (``train/...``): ``eng_Latn/`` is a config, not a split.
    """
    stem = parts[-1]
    shard = _SHARD.match(stem)
    if shard:
        return shard.group(1)
    prefix = _SPLIT_PREFIX.match(stem)
    if prefix and prefix.group(1).casefold() in _SPLIT_WORDS:
        return prefix.group(1).casefold()
    for folder in reversed(parts[:-1]):
        if folder.casefold() in _SPLIT_WORDS:
            return folder.casefold()
    return None


@dataclass(frozen=True)
class SplitFilter:
    """Which splits of a download a benchmark scores; rows of the others are skipped and counted, never read.

    ``keep`` and ``drop`` hold split names or ``fnmatch`` patterns; an empty ``keep`` keeps every split not
    dropped. A part whose split cannot be told (a lone ``bench.jsonl``) is kept: it is what the user pointed at.
    """

    keep: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    why: str = "not scored"

    def skip_reason(self, split: str | None) -> str | None:
        if split is None:
            return None
        dropped = any(fnmatchcase(split, pattern) for pattern in self.drop)
        if dropped or (self.keep and not any(fnmatchcase(split, pattern) for pattern in self.keep)):
            return f"in split {split!r} ({self.why})"
        return None


@dataclass(frozen=True)
class SkippedPart:
    """A file or dataset split the split filter left out, and how many rows it holds."""

    where: str
    split: str
    rows: int
    reason: str


@dataclass(frozen=True)
class _Part:
    """One readable piece of a download: a file or a split of a saved dataset."""

    where: str
    language: Language | None
    read: Callable[[], Iterator[tuple[str, dict[str, Any]]]]
    count: Callable[[], int]
    split: str | None


def _saved_parts(root: Path) -> list[_Part]:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(root))
    except (FileNotFoundError, ValueError, OSError) as err:
        raise BenchmarkDataError(f"{root}: not a readable dataset folder ({err})") from None
    splits = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [(None, loaded)]
    return [
        _Part(
            f"{root}[{split}]" if split else str(root),
            language_from_path([split]) if split else None,
            partial(_iter_dataset, f"{root}[{split}]" if split else str(root), dataset),
            partial(getattr, dataset, "num_rows"),
            split,
        )
        for split, dataset in splits
    ]


def _iter_dataset(label: str, dataset: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    row = 0
    # The arrow format yields image columns as {bytes, path} structs: nothing is decoded until needed.
    for batch in dataset.with_format("arrow").iter(batch_size=_BATCH_ROWS):
        for value in batch.to_pylist():
            yield f"{label}:row {row}", value
            row += 1


def _count_rows(path: Path) -> int:
    """Rows in a file without reading them where the format allows (Parquet keeps the count in its footer)."""
    if path.suffix == ".parquet":
        try:
            return pq.ParquetFile(path).metadata.num_rows
        except (pa.ArrowException, OSError) as err:
            raise BenchmarkDataError(f"{path}: cannot read Parquet file: {err}") from None
    if path.suffix == ".jsonl":
        with open(path, "rb") as handle:
            return sum(1 for line in handle if line.strip())
    return sum(1 for _ in _iter_json(path))


def _is_saved_dataset(path: Path) -> bool:
    return (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()


def _row_files(root: Path) -> list[Path]:
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix in ROW_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and p.name not in ("dataset_info.json", "dataset_infos.json", "state.json", "dataset_dict.json")
    )
    if not files:
        raise BenchmarkDataError(f"{root} holds no .jsonl, .json or .parquet files (and is not a dataset folder)")
    return files


def _file_parts(path: Path) -> list[_Part]:
    if path.is_dir():
        files, root = _row_files(path), path
    elif path.suffix in ROW_SUFFIXES:
        files, root = [path], path.parent
    else:
        raise BenchmarkDataError(f"{path}: unsupported file type {path.suffix!r}; expected .jsonl, .json or .parquet")
    readers = {".jsonl": _iter_jsonl, ".json": _iter_json, ".parquet": _iter_parquet}
    parts = []
    for file in files:
        names = [*file.relative_to(root).parent.parts, file.stem]
        read, count = partial(readers[file.suffix], file), partial(_count_rows, file)
        parts.append(_Part(str(file), language_from_path(names), read, count, split_of(names)))
    return parts


class BenchmarkSource:
    """The rows of a benchmark at ``path`` (see the module doc for the layouts), less the splits it does not score.

    ``skipped`` lists, before any row is read, each file or split the filter left out with its row count.
    """

    def __init__(self, path: str | Path, splits: SplitFilter | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise BenchmarkDataError(f"{self.path} does not exist")
        saved = self.path.is_dir() and _is_saved_dataset(self.path)
        self._parts = _saved_parts(self.path) if saved else _file_parts(self.path)
        self._reasons = [splits.skip_reason(part.split) if splits else None for part in self._parts]
        self.skipped = [
            SkippedPart(part.where, part.split or "", part.count(), reason)
            for part, reason in zip(self._parts, self._reasons, strict=True)
            if reason is not None
        ]

    def rows(self) -> Iterator[Row]:
        """Every kept row in a stable order; ordinals count skipped rows too, so they do not depend on the filter."""
        ordinal = 0
        skipped = iter(self.skipped)
        for part, reason in zip(self._parts, self._reasons, strict=True):
            if reason is not None:
                ordinal += next(skipped).rows
                continue
            for where, values in part.read():
                yield Row(where, values, part.language, ordinal)
                ordinal += 1


def iter_rows(path: str | Path, splits: SplitFilter | None = None) -> Iterator[Row]:
    """Every row of a benchmark at ``path`` (see the module doc for the layouts), in a stable order."""
    return BenchmarkSource(path, splits).rows()


def data_root(path: str | Path) -> Path:
    """The folder that image paths inside the benchmark's rows are relative to."""
    path = Path(path)
    return path if path.is_dir() else path.parent
