"""The Ray executor: the same task on worker actors across a cluster; only the driver commits entries.

Each worker builds its own backend from the job's spec (so plug-in backends must be importable there:
list them in ``plugins``), keeps ``records_in_flight`` items in progress, and writes its own shard of
the request cache — on a folder all nodes share, so a resumed run finds every answer. The driver feeds
each worker two batches ahead and commits entries as they return, exactly as the local executor does;
callers order what they write by input position, so both executors write the same output.
Rate limits and concurrency caps of an ``openai`` backend apply per worker.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import ray

from ayavision.backends import BackendError
from ayavision.errors import ConfigError
from ayavision.jobs.breaker import FailureBreaker, JobAborted
from ayavision.jobs.cache import CachedChat, RequestCache
from ayavision.jobs.config import RayExecutorConfig
from ayavision.jobs.task import Job, TaskSpec, run_item

_BATCHES_AHEAD = 2  # per worker: one being processed, one waiting, so a worker never idles on the driver


class JobWorker:
    """One actor: a task, its backend and a cache shard. Errors come back as data, never as lost batches."""

    def __init__(self, spec: TaskSpec, cache_dir: str | None, records_in_flight: int, check: bool) -> None:
        self.spec = spec
        self.cache_dir = cache_dir
        self.records_in_flight = records_in_flight
        self.check = check

    async def start(self) -> str | None:
        """Build and check the backend; the error message if that fails."""
        try:
            self.backend = self.spec.build_backend()
            self.task = self.spec.build_task(self.backend)
            if self.backend is not None and self.check:
                await self.backend.check()
        except (BackendError, ValueError) as err:
            return str(err)
        self.cache = RequestCache(self.cache_dir)
        self.chat = CachedChat(self.backend, self.cache)
        self.slots = asyncio.Semaphore(self.records_in_flight)
        return None

    async def process(self, items: list[Any]) -> dict[str, Any]:
        async def one(item: Any) -> dict[str, Any]:
            async with self.slots:
                return await run_item(self.task, item, self.chat)

        try:
            return {"entries": await asyncio.gather(*(one(item) for item in items)), "fatal": None}
        except BackendError as err:  # only fatal ones escape run_item
            return {"entries": [], "fatal": str(err)}

    async def stop(self) -> None:
        if hasattr(self, "cache"):
            self.cache.close()
        if getattr(self, "backend", None) is not None:
            await self.backend.aclose()


class RayExecutor:
    def __init__(self, config: RayExecutorConfig | None = None) -> None:
        self.config = config or RayExecutorConfig()

    def run(self, job: Job) -> None:
        if job.spec.backend is None and job.backend is not None:
            raise ConfigError(
                "the Ray executor builds the backend on each worker: give it as a spec (registry name and options), "
                "not as a built object"
            )
        started_here = not ray.is_initialized()
        if started_here:
            init: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if self.config.address is None:  # a local instance just big enough for the workers
                init["num_cpus"] = max(1, int(self.config.workers * self.config.num_cpus + 0.999))
            ray.init(address=self.config.address, **init)
        actors: list[Any] = []
        try:
            remote = ray.remote(num_cpus=self.config.num_cpus, num_gpus=self.config.num_gpus)(JobWorker)
            cache_dir = str(job.cache_dir) if job.cache_dir is not None else None
            actors = [
                remote.remote(job.spec, cache_dir, self.config.records_in_flight, job.check)
                for _ in range(self.config.workers)
            ]
            for problem in ray.get([actor.start.remote() for actor in actors]):
                if problem is not None:
                    raise JobAborted(f"a Ray worker could not start the job: {problem}")
            self._dispatch(job, actors)
        finally:
            if actors:
                ray.get([actor.stop.remote() for actor in actors], timeout=60)
                for actor in actors:
                    ray.kill(actor)
            if started_here:
                ray.shutdown()

    def _dispatch(self, job: Job, actors: list[Any]) -> None:
        items = iter(job.items)
        outstanding: dict[Any, Any] = {}
        breaker = FailureBreaker(job.max_consecutive_failures)

        def submit(actor: Any) -> None:
            batch = list(itertools.islice(items, self.config.batch_size))
            if batch:
                outstanding[actor.process.remote(batch)] = actor

        for actor in actors:
            for _ in range(_BATCHES_AHEAD):
                submit(actor)
        while outstanding:
            ready, _ = ray.wait(list(outstanding), num_returns=1)
            for ref in ready:
                actor = outstanding.pop(ref)
                result = ray.get(ref)
                if result["fatal"]:
                    raise JobAborted(f"backend error: {result['fatal']}")
                for entry in result["entries"]:
                    job.commit(entry)
                    breaker.observe(entry)
                submit(actor)
