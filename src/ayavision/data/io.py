"""Read and write conversation records as JSONL files, Parquet files or folders of shards."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from ayavision.data.errors import DataError, InvalidRecordError, RecordValidationError
from ayavision.data.images import DEFAULT_MAX_PIXELS, load_images, open_image, read_image_bytes, resolve_image_path
from ayavision.data.parquet import DEFAULT_ROWS_PER_SHARD, write_parquet_shards
from ayavision.data.record import ConversationRecord, validate_record
from ayavision.errors import ConfigError
from ayavision.utils.fs import OutputExistsError, atomic_file

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "Location",
    "ParseError",
    "dataset_files",
    "dataset_root",
    "iter_raw_records",
    "load_images",
    "open_image",
    "output_format",
    "read_image_bytes",
    "read_records",
    "rebase_image_paths",
    "resolve_image_path",
    "write_dataset",
    "write_jsonl",
    "write_parquet_shards",
]

SHARD_SUFFIXES = (".jsonl", ".parquet")
# Longest JSONL line read as a record. A record names its image files (JSONL embeds no bytes), so a line this long
# is garbage (a binary file renamed .jsonl, a missing newline); the cap keeps such a line from filling the memory.
MAX_LINE_BYTES = 64 * 1024 * 1024
_SKIP_BLOCK_BYTES = 1024 * 1024
# Small batches keep memory bounded when rows carry image bytes.
_PARQUET_BATCH_ROWS = 64


@dataclass(frozen=True)
class Location:
    """Where a raw record came from: a JSONL line (1-based) or a Parquet row (0-based), or a whole file."""

    file: Path
    line: int | None = None
    row: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}"
        if self.row is not None:
            return f"{self.file}:row {self.row}"
        return str(self.file)

    @property
    def is_record(self) -> bool:
        """False for a problem with the file as a whole (unreadable Parquet)."""
        return self.line is not None or self.row is not None


@dataclass(frozen=True)
class ParseError:
    """A line or file that yields no record at all: bad JSON, not an object, unreadable Parquet."""

    message: str


RawItem = tuple[Location, dict[str, Any] | ParseError]


def dataset_files(path: str | Path) -> list[Path]:
    """The shard files of a dataset: the file itself, or a folder's ``*.jsonl`` and ``*.parquet``, sorted."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SHARD_SUFFIXES)
        if not files:
            raise DataError(f"{path} holds no .jsonl or .parquet files")
        return files
    if path.suffix not in SHARD_SUFFIXES:
        raise DataError(f"{path}: unsupported file type {path.suffix!r}; expected .jsonl or .parquet")
    return [path]


def dataset_root(path: str | Path) -> Path:
    """The folder image paths are relative to: the dataset folder, or the folder holding the file."""
    path = Path(path)
    return path if path.is_dir() else path.parent


def _read_lines(handle: BinaryIO) -> Iterator[bytes | None]:
    """Each line of a binary file, with its newline; ``None`` for a line over ``MAX_LINE_BYTES``, which is skipped
    without ever being held whole in memory (a file with no newline at all would otherwise be read in one piece)."""
    while True:
        line = handle.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield line
            continue
        while line and not line.endswith(b"\n"):  # the rest of the long line, a block at a time
            line = handle.readline(_SKIP_BLOCK_BYTES)
        yield None


def _iter_jsonl(path: Path) -> Iterator[RawItem]:
    with open(path, "rb") as handle:
        for number, raw_line in enumerate(_read_lines(handle), start=1):
            location = Location(path, line=number)
            if raw_line is None:
                yield location, ParseError(f"line is longer than {MAX_LINE_BYTES} bytes: not a record")
                continue
            try:
                text = raw_line.decode("utf-8")
            except UnicodeDecodeError as err:
                yield location, ParseError(f"line is not valid UTF-8 ({err.reason} at byte {err.start})")
                continue
            if not text.strip():
                continue  # blank lines (a trailing newline, a separator) hold no record
            try:
                # Without its newline, an error at the end of the line points into the line, not past it.
                value = json.loads(text.rstrip("\r\n"))
            except json.JSONDecodeError as err:
                yield location, ParseError(f"invalid JSON: {err.msg} (column {err.colno})")
                continue
            except RecursionError:
                # json recurses once per nesting level: a line of 5,000 '[' would otherwise kill the whole read.
                yield location, ParseError("invalid JSON: nested too deeply")
                continue
            except ValueError as err:
                # Valid JSON that Python refuses to build, e.g. an integer over sys.get_int_max_str_digits() digits.
                yield location, ParseError(f"unreadable JSON: {err}")
                continue
            if not isinstance(value, dict):
                yield location, ParseError(f"expected a JSON object, got {type(value).__name__}")
                continue
            yield location, value


def _iter_parquet(path: Path) -> Iterator[RawItem]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        yield Location(path), ParseError(f"cannot read Parquet file: {err}")
        return
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
            for value in batch.to_pylist():
                yield Location(path, row=row), value
                row += 1
    except (pa.ArrowException, OSError) as err:
        yield Location(path, row=row), ParseError(f"cannot read Parquet rows from here on: {err}")
    finally:
        parquet.close()


def iter_raw_records(path: str | Path) -> Iterator[RawItem]:
    """Yield ``(location, raw dict or ParseError)`` for every record of a JSONL/Parquet file or shard folder."""
    for file in dataset_files(path):
        yield from (_iter_jsonl(file) if file.suffix == ".jsonl" else _iter_parquet(file))


def read_records(path: str | Path) -> Iterator[ConversationRecord]:
    """Yield validated records; the first invalid one raises ``InvalidRecordError`` naming file and line."""
    for location, raw in iter_raw_records(path):
        if isinstance(raw, ParseError):
            raise InvalidRecordError(f"{location}: {raw.message}")
        try:
            yield validate_record(raw)
        except RecordValidationError as err:
            record_id = raw.get("id")
            label = f" [{record_id}]" if isinstance(record_id, str) else ""
            raise InvalidRecordError(f"{location}:{label} {err}") from None


def write_jsonl(records: Iterable[ConversationRecord], path: str | Path, *, overwrite: bool = False) -> int:
    """Write records one per line, atomically (all or nothing); returns how many were written.

    JSONL names image files, so a record with embedded image bytes is refused: write Parquet instead.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; choose another file or pass --overwrite")
    count = 0
    with atomic_file(path) as handle:
        for record in records:
            if record.has_embedded_images():
                raise DataError(
                    f"record {record.id!r} embeds image bytes, which JSONL cannot hold; write Parquet instead"
                )
            handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
            count += 1
    return count


def rebase_image_paths(
    records: Iterable[ConversationRecord], from_root: str | Path, to_root: str | Path
) -> list[ConversationRecord]:
    """Re-express image paths relative to ``to_root``, which must contain ``from_root``.

    JSONL records name images relative to the JSONL's own folder; this fails clearly rather than
    writing ``../`` paths that the reader would refuse.
    """
    records = list(records)
    source, target = Path(from_root).resolve(), Path(to_root).resolve()
    if source == target or not any(record.image_paths() for record in records):
        return records
    try:
        prefix = source.relative_to(target)
    except ValueError:
        raise DataError(
            f"the images under {from_root} lie outside {to_root}, the output's folder; JSONL names images "
            f"relative to its own folder, so write it inside {from_root}, or write Parquet to embed the images"
        ) from None
    return [
        record.model_copy(
            update={"images": [(prefix / i).as_posix() if isinstance(i, str) else i for i in record.images]}
        )
        for record in records
    ]


def output_format(out: str | Path, fmt: str | None = None) -> Literal["jsonl", "parquet"]:
    """The format to write ``out`` in: ``fmt`` if given, else JSONL iff the name ends in .jsonl."""
    if fmt is None:
        return "jsonl" if Path(out).suffix == ".jsonl" else "parquet"
    if fmt == "jsonl":
        return "jsonl"
    if fmt == "parquet":
        return "parquet"
    raise ConfigError(f"unknown output format {fmt!r}; expected jsonl or parquet")


def write_dataset(
    records: Iterable[ConversationRecord],
    out: str | Path,
    dataset_root: str | Path | None = None,
    *,
    fmt: Literal["jsonl", "parquet"] | None = None,
    overwrite: bool = False,
    rows_per_shard: int = DEFAULT_ROWS_PER_SHARD,
) -> None:
    """Write records as one JSONL file or a folder of Parquet shards (default: JSONL iff ``out`` ends in .jsonl).

    Image paths are relative to ``dataset_root``: JSONL re-expresses them relative to its own folder,
    Parquet embeds the bytes.
    """
    out = Path(out)
    if output_format(out, fmt) == "jsonl":
        if dataset_root is not None:
            records = rebase_image_paths(records, dataset_root, out.parent)
        write_jsonl(records, out, overwrite=overwrite)
    else:
        write_parquet_shards(records, out, dataset_root, rows_per_shard=rows_per_shard, overwrite=overwrite)
