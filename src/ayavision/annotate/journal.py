"""The step journal: one line per finished record (its ledger entry and outputs), on the engine's ``JsonLog``.

One line is one commit: a record counts as done only once its whole line — verdict and every output
record — is on disk, so a kill at any moment leaves either a complete record or none (the ``JsonLog``
rule for a torn last line). Lines are flushed one by one (a killed process loses nothing the OS has) and
fsynced in batches. When the step ends, the journal is turned into the ledger and the output dataset in
input order (``outputs.py``), so an interrupted run ends exactly like an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ayavision.jobs.journal import JournalError, JsonLog

STATUSES = ("kept", "dropped", "failed")


@dataclass(frozen=True)
class Done:
    """What resuming needs to know of a journal line (the outputs stay on disk)."""

    id: str
    status: str
    retryable: bool
    offset: int


class Journal:
    def __init__(self, path: str | Path, fsync_interval: float = 1.0, fsync_every: int = 256) -> None:
        self.path = Path(path)
        self.log = JsonLog(self.path, fsync_interval=fsync_interval, fsync_every=fsync_every)
        self.done: dict[int, Done] = {}  # input index -> its last line

    @property
    def torn_bytes(self) -> int:
        return self.log.torn_bytes

    def open(self) -> dict[int, Done]:
        """Read what earlier runs finished (cutting off a torn last line) and get ready to append."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for number, offset, entry in self.log.scan():
            try:
                self.done[entry["index"]] = Done(entry["id"], entry["status"], bool(entry.get("retryable")), offset)
            except (KeyError, TypeError) as err:
                raise JournalError(f"{self.path}:{number}: not a journal entry (no {err})") from None
        return self.done

    def append(self, entry: dict[str, Any]) -> None:
        """Commit one record: ``{index, id, status, reason, outputs: [record json...], ...}``."""
        (offset,) = self.log.append([entry])
        self.done[entry["index"]] = Done(entry["id"], entry["status"], bool(entry.get("retryable")), offset)

    def sync(self) -> None:
        self.log.sync()

    def close(self) -> None:
        self.log.close()

    def read(self, offset: int, handle: BinaryIO) -> dict[str, Any]:
        return JsonLog.read_at(handle, offset)
