"""A progress bar per step: done of total, kept / dropped / failed, requests per second and time left."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class StepProgress:
    """Fed one journal entry per finished record; silent when disabled (tests, pipes)."""

    def __init__(self, label: str, total: int, already: dict[str, int], enabled: bool = True) -> None:
        self.counts = {"kept": already.get("kept", 0), "dropped": already.get("dropped", 0), "failed": 0}
        self.counts["failed"] = already.get("failed", 0)
        self.requests = 0
        self.cached = 0
        self._start = time.monotonic()
        self._progress: Progress | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("[green]kept {task.fields[kept]}[/] [yellow]dropped {task.fields[dropped]}[/]"),
                TextColumn("[red]failed {task.fields[failed]}[/]"),
                TextColumn("{task.fields[rate]} req/s"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                label, total=total, completed=sum(self.counts.values()), **self._fields()
            )

    def _fields(self) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        return {**self.counts, "rate": f"{self.requests / elapsed:.1f}"}

    def update(self, entry: dict[str, Any]) -> None:
        self.counts[entry["status"]] += 1
        self.requests += entry.get("requests", 0)
        self.cached += entry.get("cached", 0)
        if self._progress is not None:
            self._progress.update(self._task, advance=1, **self._fields())

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
