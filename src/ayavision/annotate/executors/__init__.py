"""Executors run a step over its input records: locally on one event loop, or across a Ray cluster."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ayavision.annotate.config import ExecutorConfig, LocalExecutorConfig, RayExecutorConfig
from ayavision.annotate.engine import StepSpec
from ayavision.annotate.inputs import InputItem
from ayavision.backends import Backend


@dataclass
class Job:
    """One run of a step: what to build, what to feed it, where answers are cached, where results go."""

    spec: StepSpec
    items: Iterable[InputItem]
    root: Path  # the input's dataset root (images are read under it)
    cache_dir: Path | None
    commit: Callable[[dict[str, Any]], None]  # called once per finished record, in the caller's thread
    max_consecutive_failures: int = 200
    backend: Backend | None = None  # an already-built backend (local executor only)
    close_backend: bool = False  # the backend was built for this job: close it when done


class Executor(Protocol):
    def run(self, job: Job) -> None: ...


def make_executor(config: ExecutorConfig | None) -> Executor:
    if config is None or isinstance(config, LocalExecutorConfig):
        from ayavision.annotate.executors.local import LocalExecutor

        return LocalExecutor(config or LocalExecutorConfig())
    if isinstance(config, RayExecutorConfig):
        from ayavision.annotate.executors.ray import RayExecutor

        return RayExecutor(config)
    raise TypeError(f"unknown executor config {type(config).__name__}")


__all__ = ["Executor", "Job", "make_executor"]
