"""Input records for a step: each with its position and location, invalid ones kept as failures to ledger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ayavision.data import DataError, RecordValidationError, dataset_files, iter_raw_records, validate_record
from ayavision.data.io import ParseError
from ayavision.data.record import ConversationRecord


@dataclass(frozen=True)
class InputItem:
    """The record at ``index`` (0-based over the whole dataset), or why it is not a valid record."""

    index: int
    id: str  # the record's id, or its location when it has none
    location: str  # FILE:LINE or FILE:row N
    record: ConversationRecord | None
    error: str | None = None


def iter_items(path: str | Path) -> Iterator[InputItem]:
    """Every record of a dataset in order; a malformed or duplicate one becomes an item with an ``error``.

    A whole file that cannot be read at all raises ``DataError``: no record of it could be accounted for.
    """
    first_seen: dict[str, str] = {}
    for index, (location, raw) in enumerate(iter_raw_records(path)):
        if not location.is_record:
            assert isinstance(raw, ParseError)
            raise DataError(f"{location}: {raw.message}")
        where = str(location)
        if isinstance(raw, ParseError):
            yield InputItem(index, where, where, None, raw.message)
        else:
            yield _item(index, where, raw, first_seen)


def _item(index: int, where: str, raw: dict[str, Any], first_seen: dict[str, str]) -> InputItem:
    raw_id = raw.get("id")
    label = raw_id if isinstance(raw_id, str) and raw_id.strip() else where
    try:
        record = validate_record(raw)
    except RecordValidationError as err:
        return InputItem(index, label, where, None, str(err))
    if record.id in first_seen:
        return InputItem(index, label, where, None, f"duplicate id {record.id!r} (first at {first_seen[record.id]})")
    first_seen[record.id] = where
    return InputItem(index, record.id, where, record)


def count_items(path: str | Path) -> int:
    """How many items ``iter_items`` will yield, without parsing them (for progress and completeness checks)."""
    total = 0
    for file in dataset_files(path):
        if file.suffix == ".parquet":
            try:
                total += pq.ParquetFile(file).metadata.num_rows
            except Exception as err:  # pyarrow raises several types for unreadable files
                raise DataError(f"{file}: cannot read Parquet file: {err}") from None
        else:
            with open(file, "rb") as handle:
                total += sum(1 for line in handle if line.strip())
    return total


def input_signature(path: str | Path) -> list[dict[str, Any]]:
    """Which files, how big, when written: a resumed run must read the same input as the run it continues."""
    return [
        {"file": str(f.resolve()), "size": f.stat().st_size, "mtime_ns": f.stat().st_mtime_ns}
        for f in dataset_files(path)
    ]


def is_parquet(path: str | Path) -> bool:
    return any(f.suffix == ".parquet" for f in dataset_files(path))
