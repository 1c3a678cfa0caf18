"""The failure rule of every job: a fatal backend error, or too many failed items in a row, stops it."""

from __future__ import annotations

from typing import Any

from ayavision.errors import AyaVisionError

INVALID_INPUT = "invalid record"  # the reason of an item the input could not even parse


class JobAborted(AyaVisionError, RuntimeError):
    """The job stopped before the end (a fatal backend error, too many failures in a row); resume later."""


class FailureBreaker:
    """Stops a job when ``limit`` items in a row fail: a dead server should not fail a million items."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_a_row = 0

    def observe(self, entry: dict[str, Any]) -> None:
        # Invalid input records are the data's fault, not the server's: they do not trip the breaker.
        if entry["status"] == "failed" and not str(entry.get("reason", "")).startswith(INVALID_INPUT):
            self.in_a_row += 1
            if self.in_a_row >= self.limit:
                raise JobAborted(
                    f"{self.in_a_row} records in a row failed (last: {entry['reason']}); stopping. "
                    "Finished records are kept: fix the cause and run again to resume"
                )
        else:
            self.in_a_row = 0
