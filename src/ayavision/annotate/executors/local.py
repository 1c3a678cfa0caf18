"""The local executor: one event loop, a bounded number of records in flight, results committed as they finish."""

from __future__ import annotations

import asyncio
import contextlib

from ayavision.annotate.cache import RequestCache
from ayavision.annotate.config import LocalExecutorConfig
from ayavision.annotate.engine import FailureBreaker, StepAborted, process_item
from ayavision.annotate.executors.base import Job
from ayavision.annotate.step import SharedContext
from ayavision.backends import BackendError


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
        step = job.spec.build(backend)
        cache = RequestCache(job.cache_dir)
        pending: set[asyncio.Task] = set()
        finished: asyncio.Queue[asyncio.Task] = asyncio.Queue()  # O(1) per record, unlike asyncio.wait(pending)
        try:
            if backend is not None:
                await backend.check()
            shared = SharedContext(backend, cache, job.root)
            limit = records_in_flight(
                self.config.records_in_flight, backend.preferred_concurrency if backend is not None else None
            )
            breaker = FailureBreaker(job.max_consecutive_failures)

            async def settle_one() -> None:
                task = await finished.get()
                pending.discard(task)
                entry = task.result()  # re-raises a fatal backend error
                job.commit(entry)
                breaker.observe(entry)

            for item in job.items:
                while len(pending) >= limit:
                    await settle_one()
                task = asyncio.create_task(process_item(step, item, shared))
                task.add_done_callback(finished.put_nowait)
                pending.add(task)
            while pending:
                await settle_one()
        except BackendError as err:  # only fatal ones get here
            raise StepAborted(f"backend error: {err}") from err
        finally:
            for task in pending:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*pending, return_exceptions=True)
            cache.close()
            if (job.backend is None or job.close_backend) and backend is not None:
                await backend.aclose()
