"""A step as a job of the shared engine (``ayavision.jobs``): built where it runs, one input item -> one entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ayavision.annotate.config import BackendSpec
from ayavision.annotate.inputs import InputItem
from ayavision.annotate.records import record_to_json
from ayavision.annotate.step import Outcome, RecordContext, Step, step_class
from ayavision.backends import Backend, BackendError, create_backend
from ayavision.jobs import ITEM_FAILURES, CachedChat, JobAborted, Tally
from ayavision.utils.plugins import load_plugins

# A step that stopped early is a job that stopped early: one error, one message, one way to resume.
StepAborted = JobAborted


@dataclass
class StepSpec:
    """Everything needed to build a step anywhere: plain data, so it travels to Ray workers."""

    config: BaseModel  # a registered step's config (its ``step`` field names the step)
    backend: BackendSpec | None = None
    plugins: list[str] = field(default_factory=list)
    root: Path | None = None  # the input's dataset root (images are read under it)

    def build_backend(self) -> Backend | None:
        load_plugins(self.plugins, "plugins")  # a Ray worker imports them too: they may register the backend
        if self.backend is None:
            return None
        return create_backend(self.backend.kind, **self.backend.options)

    def build(self, backend: Backend | None = None) -> Step:
        """The step, with ``backend`` or one made from the spec."""
        if backend is None:
            backend = self.build_backend()
        return step_class(self.config.step)(self.config, backend)  # type: ignore[attr-defined]

    def build_task(self, backend: Backend | None) -> StepTask:
        return StepTask(self.build(backend), self.root)


class StepTask:
    """The engine's task for a step: the journal entry of one input item."""

    def __init__(self, step: Step, root: Path | None) -> None:
        self.step = step
        self.root = root

    async def run(self, item: InputItem, chat: CachedChat, tally: Tally) -> dict[str, Any]:
        ctx = RecordContext(chat, self.root, tally)
        if item.record is None:
            return self._entry(item, Outcome.failed(f"invalid record: {item.error}"), tally)
        try:
            outcome = await self.step.process(item.record, ctx)
        except ITEM_FAILURES:
            raise  # the engine's rule: a failed item, or a stopped job
        except Exception as err:  # a bug must cost one record, visibly, not the whole run
            outcome = Outcome.failed(f"internal error: {type(err).__name__}: {err}")
        return self._entry(item, outcome, tally)

    def failed(self, item: InputItem, error: BaseException, tally: Tally) -> dict[str, Any]:
        if isinstance(error, BackendError):
            return self._entry(item, Outcome.failed(f"backend error: {error}", retryable=error.retryable), tally)
        return self._entry(item, Outcome.failed(f"input error: {error}"), tally)  # a missing or undecodable image

    def _entry(self, item: InputItem, outcome: Outcome, tally: Tally) -> dict[str, Any]:
        if outcome.status != "kept" and not outcome.reason:
            raise RuntimeError(f"step {self.step.name!r} gave no reason for a {outcome.status} record")
        entry: dict[str, Any] = {"index": item.index, "id": item.id, "location": item.location}
        entry.update(status=outcome.status, reason=outcome.reason)
        if outcome.status == "failed":
            entry["retryable"] = outcome.retryable
        entry["outputs"] = [record_to_json(record) for record in outcome.outputs]
        entry["requests"] = tally.requests
        entry["cached"] = tally.cached
        return entry
