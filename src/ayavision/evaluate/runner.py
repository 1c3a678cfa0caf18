"""Run many requests with bounded concurrency, record each result as it arrives, and stop on a failing endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ayavision.backends.base import BackendError
from ayavision.data.errors import DataError

T = TypeVar("T")
R = TypeVar("R")

# Failures that belong to one item (the endpoint gave up on it, or its image is unreadable): the item is
# counted as failed and left for a later run; anything else is a bug and stops the run.
ITEM_FAILURES: tuple[type[BaseException], ...] = (BackendError, DataError, FileNotFoundError)


@dataclass
class RunOutcome(Generic[T]):
    done: int = 0
    failed: list[tuple[T, str]] = field(default_factory=list)
    aborted: str | None = None  # why the run stopped early, if it did
    not_started: int = 0


async def run_bounded(
    items: Iterable[T],
    work: Callable[[T], Awaitable[R]],
    on_result: Callable[[T, R], None],
    *,
    concurrency: int,
    max_consecutive_failures: int,
    on_progress: Callable[[], None] | None = None,
) -> RunOutcome[T]:
    """Run ``work`` on every item with at most ``concurrency`` in flight; ``on_result`` records each success.

    After a fatal ``BackendError``, or ``max_consecutive_failures`` failures in a row, no new item starts (the
    endpoint is down, not the items bad); the items never started are counted in ``not_started``.
    """
    pending = list(items)
    queue = iter(pending)
    outcome: RunOutcome[T] = RunOutcome()
    streak = 0
    started = 0

    async def worker() -> None:
        nonlocal streak, started
        for item in queue:
            if outcome.aborted:
                return
            started += 1
            try:
                result = await work(item)
            except ITEM_FAILURES as err:
                outcome.failed.append((item, str(err)))
                streak += 1
                if getattr(err, "fatal", False) and not outcome.aborted:
                    outcome.aborted = str(err)  # the backend says no request can succeed
                elif streak >= max_consecutive_failures and not outcome.aborted:
                    outcome.aborted = f"{streak} requests failed in a row; the last: {err}"
            else:
                streak = 0
                on_result(item, result)
                outcome.done += 1
            if on_progress is not None:
                on_progress()

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(pending))))))
    outcome.not_started = len(pending) - started
    return outcome


@contextmanager
def progress_bar(description: str, total: int, enabled: bool = True):
    """A rich progress bar; yields the function that advances it by one."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)
