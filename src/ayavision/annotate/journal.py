"""The step journal: an append-only log with one line per finished record (its ledger entry and outputs).

One line is one commit: a record counts as done only once its whole line — verdict and every output
record — is on disk, so a kill at any moment leaves either a complete record or none (a torn last line
is cut off on reopening). Lines are flushed one by one (a killed process loses nothing the OS has) and
fsynced in batches. When the step ends, the journal is turned into the ledger and the output dataset in
input order (``outputs.py``), so an interrupted run ends exactly like an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ayavision.errors import AyaVisionError

STATUSES = ("kept", "dropped", "failed")


@dataclass(frozen=True)
class Done:
    """What resuming needs to know of a journal line (the outputs stay on disk)."""

    id: str
    status: str
    retryable: bool
    offset: int


class JournalError(AyaVisionError, RuntimeError):
    """A journal that cannot be continued (corrupt in the middle, or written for other input)."""


class Journal:
    def __init__(self, path: str | Path, fsync_interval: float = 1.0, fsync_every: int = 256) -> None:
        self.path = Path(path)
        self.fsync_interval = fsync_interval
        self.fsync_every = fsync_every
        self.done: dict[int, Done] = {}  # input index -> its last line
        self._handle: BinaryIO | None = None
        self._unsynced = 0
        self._last_sync = time.monotonic()
        self.torn_bytes = 0

    def open(self) -> dict[int, Done]:
        """Read what earlier runs finished (cutting off a torn last line) and get ready to append."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        good_end = 0
        if self.path.exists():
            with open(self.path, "rb") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.endswith(b"\n"):
                        break  # the torn tail of a killed run
                    try:
                        entry = json.loads(line)
                        index = entry["index"]
                        self.done[index] = Done(entry["id"], entry["status"], bool(entry.get("retryable")), good_end)
                    except (ValueError, KeyError, TypeError) as err:
                        raise JournalError(f"{self.path}:{number}: corrupt journal line ({err})") from None
                    good_end += len(line)
            size = self.path.stat().st_size
            if size > good_end:
                self.torn_bytes = size - good_end
                with open(self.path, "r+b") as handle:
                    handle.truncate(good_end)
        self._handle = open(self.path, "ab")  # noqa: SIM115 - held open while the step runs
        return self.done

    def append(self, entry: dict[str, Any]) -> None:
        """Commit one record: ``{index, id, status, reason, outputs: [record json...], ...}``."""
        assert self._handle is not None, "open() the journal first"
        offset = self._handle.tell()
        self._handle.write((json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
        self._handle.flush()
        self.done[entry["index"]] = Done(entry["id"], entry["status"], bool(entry.get("retryable")), offset)
        self._unsynced += 1
        if self._unsynced >= self.fsync_every or time.monotonic() - self._last_sync >= self.fsync_interval:
            self.sync()

    def sync(self) -> None:
        if self._handle is not None and self._unsynced:
            self._handle.flush()
            os.fsync(self._handle.fileno())
        self._unsynced = 0
        self._last_sync = time.monotonic()

    def close(self) -> None:
        self.sync()
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def read(self, offset: int, handle: BinaryIO) -> dict[str, Any]:
        handle.seek(offset)
        return json.loads(handle.readline())
