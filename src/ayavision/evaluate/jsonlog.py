"""An append-only JSONL file that survives a kill: whole lines are written and synced one batch at a time.

A process killed in the middle of a write can leave at most one torn last line. ``JsonLog.load`` drops it
(and says so), truncating the file to its last complete line so that appends continue cleanly. A bad line
anywhere else is not the result of a kill: it is an error naming the file and the line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ayavision.errors import AyaVisionError


class JsonLogError(AyaVisionError, ValueError):
    """A line of a results file that is not a JSON object; the message starts with ``FILE:LINE``."""


class JsonLog:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.repaired_tail = False  # True when load() dropped a torn last line

    def load(self) -> list[dict[str, Any]]:
        """Every complete record, in order; a torn last line is cut off the file."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        tail = lines.pop()  # after the last newline: empty unless the last write was torn
        records = []
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            records.append(self._parse(raw, number))
        if tail.strip():
            try:
                records.append(self._parse(tail, len(lines) + 1))
                # A complete record that lacks only its newline: add it so the next append starts a line.
                with open(self.path, "ab") as handle:
                    handle.write(b"\n")
            except JsonLogError:
                with open(self.path, "r+b") as handle:
                    handle.truncate(len(data) - len(tail))
                self.repaired_tail = True
        return records

    def _parse(self, raw: bytes, number: int) -> dict[str, Any]:
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise JsonLogError(f"{self.path}:{number}: not a JSON line ({err})") from None
        if not isinstance(value, dict):
            raise JsonLogError(f"{self.path}:{number}: expected a JSON object, got {type(value).__name__}")
        return value

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Write the records as whole lines in one write, then flush and fsync: they are on disk when this returns."""
        payload = "".join(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records)
        if not payload:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
