"""Executors run a step over its input records: locally on one event loop, or across a Ray cluster."""

from __future__ import annotations

from ayavision.annotate.config import ExecutorConfig, LocalExecutorConfig, RayExecutorConfig
from ayavision.annotate.executors.base import Executor, Job


def make_executor(config: ExecutorConfig | None) -> Executor:
    if config is None or isinstance(config, LocalExecutorConfig):
        from ayavision.annotate.executors.local import LocalExecutor

        return LocalExecutor(config or LocalExecutorConfig())
    if isinstance(config, RayExecutorConfig):
        from ayavision.annotate.executors.ray import RayExecutor

        return RayExecutor(config)
    raise TypeError(f"unknown executor config {type(config).__name__}")


__all__ = ["Executor", "Job", "make_executor"]
