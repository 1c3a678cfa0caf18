"""Read benchmark rows from local files — JSONL, JSON, Parquet, or a Hugging Face dataset folder — never a hub.

Accepted layouts of ``--data PATH``:

- one ``.jsonl`` / ``.json`` (a list of objects) / ``.parquet`` file;
- a folder of such files, searched recursively, as ``huggingface-cli download --repo-type dataset`` leaves it
  (``eng_Latn/test-00000-of-00001.parquet``: the config folder names the language);
- a folder written by ``datasets``' ``save_to_disk`` (a ``Dataset`` or a ``DatasetDict`` whose split names may
  be languages, as in xMMMU and MaXM).

Each row comes with where it was read (``FILE:LINE`` or ``FILE:row N``) for error messages, and the language
its path names, if any (a config folder, a split, or a file name such as ``..._Arabic.parquet``).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

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


class BenchmarkDataError(ValueError):
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


def _iter_saved_dataset(root: Path) -> Iterator[tuple[str, dict[str, Any], str | None]]:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(root))
    except (FileNotFoundError, ValueError, OSError) as err:
        raise BenchmarkDataError(f"{root}: not a readable dataset folder ({err})") from None
    splits = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [(None, loaded)]
    for split, dataset in splits:
        label = f"{root}[{split}]" if split else str(root)
        row = 0
        # The arrow format yields image columns as {bytes, path} structs: nothing is decoded until needed.
        for batch in dataset.with_format("arrow").iter(batch_size=_BATCH_ROWS):
            for value in batch.to_pylist():
                yield f"{label}:row {row}", value, split
                row += 1


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


def iter_rows(path: str | Path) -> Iterator[Row]:
    """Every row of a benchmark at ``path`` (see the module doc for the layouts), in a stable order."""
    path = Path(path)
    if not path.exists():
        raise BenchmarkDataError(f"{path} does not exist")
    ordinal = 0
    if path.is_dir() and _is_saved_dataset(path):
        for where, values, split in _iter_saved_dataset(path):
            yield Row(where, values, language_from_path([split]) if split else None, ordinal)
            ordinal += 1
        return
    if path.is_dir():
        files, root = _row_files(path), path
    elif path.suffix in ROW_SUFFIXES:
        files, root = [path], path.parent
    else:
        raise BenchmarkDataError(f"{path}: unsupported file type {path.suffix!r}; expected .jsonl, .json or .parquet")
    for file in files:
        parts = [*file.relative_to(root).parent.parts, file.stem]
        hint = language_from_path(parts)
        reader = {".jsonl": _iter_jsonl, ".json": _iter_json, ".parquet": _iter_parquet}[file.suffix]
        for where, values in reader(file):
            yield Row(where, values, hint, ordinal)
            ordinal += 1


def data_root(path: str | Path) -> Path:
    """The folder that image paths inside the benchmark's rows are relative to."""
    path = Path(path)
    return path if path.is_dir() else path.parent
