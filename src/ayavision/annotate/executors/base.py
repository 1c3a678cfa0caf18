"""What an executor is given (a ``Job``) and what it is (an ``Executor``), apart from the package that picks one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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
