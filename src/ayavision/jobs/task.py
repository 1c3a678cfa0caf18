"""What the engine runs: a task built where it runs from a picklable spec; one item in, one journal entry out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ayavision.backends import Backend, BackendError
from ayavision.data import DataError
from ayavision.jobs.cache import CachedChat, Tally

# Failures that belong to one item (the backend gave up on it after its retries, its image is unreadable): the
# item is recorded as failed and left for a later run. A fatal BackendError stops the job instead; anything else
# is a bug and propagates (a task may choose to record its own bugs per item, as annotation steps do).
ITEM_FAILURES: tuple[type[BaseException], ...] = (BackendError, DataError, OSError)


class Task(Protocol):
    """Turns one item into one entry: a dict with ``status`` (``kept``, ``dropped``, ``failed``) and ``reason``."""

    async def run(self, item: Any, chat: CachedChat, tally: Tally) -> dict[str, Any]: ...

    def failed(self, item: Any, error: BaseException, tally: Tally) -> dict[str, Any]:
        """The entry of an item whose work raised one of ``ITEM_FAILURES``."""
        ...


class TaskSpec(Protocol):
    """Plain data that builds the backend and the task anywhere: here, or on a Ray worker."""

    backend: Any  # the backend's spec (registry name and options), or None when the caller passes a built one

    def build_backend(self) -> Backend | None: ...

    def build_task(self, backend: Backend | None) -> Task: ...


async def run_item(task: Task, item: Any, chat: CachedChat) -> dict[str, Any]:
    """The entry for one item. Raises only for fatal backend errors (which stop the job) and bugs."""
    tally = Tally()
    try:
        return await task.run(item, chat, tally)
    except ITEM_FAILURES as err:
        if isinstance(err, BackendError) and err.fatal:
            raise
        return task.failed(item, err, tally)


@dataclass
class Job:
    """One run of a task over items: what to build, what to feed it, where answers are cached, where entries go."""

    spec: TaskSpec
    items: Iterable[Any]
    cache_dir: Path | None
    commit: Callable[[dict[str, Any]], None]  # called once per finished item, in the caller's thread
    max_consecutive_failures: int = 200
    backend: Backend | None = None  # an already-built backend (local executor only)
    close_backend: bool = False  # the backend was built for this job: close it when done
    check: bool = True  # ask the backend to fail fast before the first item (callers that checked already: False)


class Executor(Protocol):
    def run(self, job: Job) -> None: ...
