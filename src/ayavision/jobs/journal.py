"""The kill-safe JSONL log under every journal, request cache and results file: whole lines, one rule for a torn tail.

A line is one commit: it is written in one piece and flushed at once, so a process killed at any moment
(``kill -9`` included) leaves every earlier line whole and at most one torn last line. The rule, the same
everywhere: the text after the last newline is kept when it is a whole JSON object (the kill came between the
object and its newline; the newline is added) and cut off otherwise (``repaired_tail``); a bad line *before* the
end is not what a kill leaves, so it is an error naming the file and the line. Lines are fsynced every
``fsync_interval`` seconds (0: after every append), so a lost machine loses at most that much.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ayavision.errors import AyaVisionError


class JournalError(AyaVisionError, ValueError):
    """A log that cannot be continued: a bad line before its end; the message starts with ``FILE:LINE``."""


def _dumps(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


class JsonLog:
    """An append-only file of JSON objects, one a line; ``scan``/``load`` read it back, repairing a torn tail."""

    def __init__(self, path: str | Path, fsync_interval: float = 0.0, fsync_every: int = 256) -> None:
        self.path = Path(path)
        self.fsync_interval = fsync_interval
        self.fsync_every = fsync_every
        self.repaired_tail = False  # True when reading cut off a torn last line
        self.torn_bytes = 0
        self._handle: BinaryIO | None = None
        self._unsynced = 0
        self._last_sync = time.monotonic()

    def _parse(self, raw: bytes, number: int) -> dict[str, Any]:
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as err:
            raise JournalError(f"{self.path}:{number}: not a JSON line ({err})") from None
        if not isinstance(value, dict):
            raise JournalError(f"{self.path}:{number}: expected a JSON object, got {type(value).__name__}")
        return value

    def scan(self, repair: bool = True) -> Iterator[tuple[int, int, dict[str, Any]]]:
        """``(line number, byte offset, record)`` of every whole line, in order.

        ``repair=False`` reads a file another process may still be appending to (a cache shard): a torn tail is
        passed over (``torn_bytes``), the file left as it is.
        """
        if not self.path.exists():
            return
        with open(self.path, "rb") as handle:
            offset = 0
            for number, raw in enumerate(handle, start=1):
                if not raw.endswith(b"\n"):  # the last line, without its newline
                    yield from self._tail(raw, number, offset, repair)
                    return
                if raw.strip():
                    yield number, offset, self._parse(raw, number)
                offset += len(raw)

    def _tail(self, raw: bytes, number: int, offset: int, repair: bool) -> Iterator[tuple[int, int, dict[str, Any]]]:
        if not raw.strip():
            return
        try:
            record = self._parse(raw, number)
        except JournalError:  # a kill in the middle of a write: the record was never committed
            self.torn_bytes = len(raw)
            if repair:
                with open(self.path, "r+b") as handle:
                    handle.truncate(offset)
                self.repaired_tail = True
            return
        if not repair:
            yield number, offset, record
            return
        with open(self.path, "ab") as handle:  # whole but for its newline: add it so the next append starts a line
            handle.write(b"\n")
        yield number, offset, record

    def load(self) -> list[dict[str, Any]]:
        """Every whole record, in order (a torn last line is cut off the file)."""
        return [record for _, _, record in self.scan()]

    def append(self, records: Iterable[dict[str, Any]]) -> list[int]:
        """Write each record as one line and flush it; the byte offsets they start at."""
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "ab")  # noqa: SIM115 - held open until close()
        offsets = []
        for record in records:
            offsets.append(self._handle.tell())
            self._handle.write(_dumps(record))
            self._handle.flush()  # in the OS's hands: a killed process loses nothing
            self._unsynced += 1
        if self._unsynced >= self.fsync_every or time.monotonic() - self._last_sync >= self.fsync_interval:
            self.sync()
        return offsets

    def sync(self) -> None:
        if self._handle is not None and self._unsynced:
            os.fsync(self._handle.fileno())
        self._unsynced = 0
        self._last_sync = time.monotonic()

    def close(self) -> None:
        self.sync()
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    @staticmethod
    def read_at(handle: BinaryIO, offset: int) -> dict[str, Any]:
        """The record of the line at ``offset`` of an open handle of this file."""
        handle.seek(offset)
        return json.loads(handle.readline())
