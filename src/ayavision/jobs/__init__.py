"""The job engine shared by annotation and evaluation: bounded concurrency, the failure rule, a kill-safe journal,
the request cache, and the executors that run a task over items (locally on one event loop, or across Ray)."""

from __future__ import annotations

from ayavision.jobs.breaker import FailureBreaker, JobAborted
from ayavision.jobs.cache import CachedChat, RequestCache, Tally, cache_key
from ayavision.jobs.config import ExecutorConfig, LocalExecutorConfig, RayExecutorConfig
from ayavision.jobs.journal import JournalError, JsonLog
from ayavision.jobs.task import ITEM_FAILURES, Executor, Job, Task, TaskSpec, run_item


def make_executor(config: ExecutorConfig | None) -> Executor:
    if config is None or isinstance(config, LocalExecutorConfig):
        from ayavision.jobs.local import LocalExecutor

        return LocalExecutor(config or LocalExecutorConfig())
    if isinstance(config, RayExecutorConfig):
        from ayavision.jobs.ray import RayExecutor  # ray is imported only when it is asked for

        return RayExecutor(config)
    raise TypeError(f"unknown executor config {type(config).__name__}")


def run_job(job: Job, executor: ExecutorConfig | None = None) -> None:
    """Run ``job`` on the executor ``executor`` configures (the local one by default)."""
    make_executor(executor).run(job)


__all__ = [
    "ITEM_FAILURES",
    "CachedChat",
    "Executor",
    "ExecutorConfig",
    "FailureBreaker",
    "Job",
    "JobAborted",
    "JournalError",
    "JsonLog",
    "LocalExecutorConfig",
    "RayExecutorConfig",
    "RequestCache",
    "Tally",
    "Task",
    "TaskSpec",
    "cache_key",
    "make_executor",
    "run_item",
    "run_job",
]
