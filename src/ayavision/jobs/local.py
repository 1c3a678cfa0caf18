"""The local executor: one event loop, a bounded number of items in flight, entries committed as they finish."""

from __future__ import annotations

import asyncio
import contextlib

from ayavision.backends import BackendError
from ayavision.jobs.breaker import FailureBreaker, JobAborted
from ayavision.jobs.cache import CachedChat, RequestCache
from ayavision.jobs.config import LocalExecutorConfig
from ayavision.jobs.task import Job, Task, run_item


def records_in_flight(configured: int | None, backend_concurrency: int | None) -> int:
    """Twice what the backend serves at once: a record between two of its requests must not leave a slot idle."""
    if configured is not None:
        return configured
    return max(8, 2 * (backend_concurrency or 4))


class LocalExecutor:
    def __init__(self, config: LocalExecutorConfig | None = None) -> None:
        self.config = config or LocalExecutorConfig()

    def run(self, job: Job) -> None:
        asyncio.run(self.arun(job))

    async def arun(self, job: Job) -> None:
        backend = job.backend if job.backend is not None else job.spec.build_backend()
        task_ = job.spec.build_task(backend)
        cache = RequestCache(job.cache_dir)
        pending: set[asyncio.Task] = set()
        finished: asyncio.Queue[asyncio.Task] = asyncio.Queue()  # O(1) per item, unlike asyncio.wait(pending)
        try:
            if backend is not None and job.check:
                await backend.check()  # its own error, before any item: the caller says what it means
            try:
                await self._feed(job, task_, CachedChat(backend, cache), pending, finished)
            except BackendError as err:  # only fatal ones get here
                raise JobAborted(f"backend error: {err}") from err
        finally:
            for started in pending:
                started.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*pending, return_exceptions=True)
            cache.close()
            if (job.backend is None or job.close_backend) and backend is not None:
                await backend.aclose()

    async def _feed(
        self, job: Job, task_: Task, chat: CachedChat, pending: set[asyncio.Task], finished: asyncio.Queue
    ) -> None:
        backend = chat.backend
        limit = records_in_flight(
            self.config.records_in_flight, backend.preferred_concurrency if backend is not None else None
        )
        breaker = FailureBreaker(job.max_consecutive_failures)

        async def settle_one() -> None:
            done = await finished.get()
            pending.discard(done)
            entry = done.result()  # re-raises a fatal backend error (or a bug)
            job.commit(entry)
            breaker.observe(entry)

        for item in job.items:
            while len(pending) >= limit:
                await settle_one()
            started = asyncio.create_task(run_item(task_, item, chat))
            started.add_done_callback(finished.put_nowait)
            pending.add(started)
        while pending:
            await settle_one()
