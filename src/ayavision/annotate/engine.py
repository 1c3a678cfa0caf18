"""Build a step where it runs (here or on a Ray worker) and turn one input item into one journal entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ayavision.annotate.config import BackendSpec
from ayavision.annotate.inputs import InputItem
from ayavision.annotate.records import record_to_json
from ayavision.annotate.step import Outcome, RecordContext, SharedContext, Step, step_class
from ayavision.backends import Backend, BackendError, create_backend
from ayavision.data import DataError
from ayavision.errors import AyaVisionError
from ayavision.utils.plugins import load_plugins


class StepAborted(AyaVisionError, RuntimeError):
    """The step stopped before the end (a fatal backend error, too many failures in a row); resume later."""


@dataclass
class StepSpec:
    """Everything needed to build a step anywhere: plain data, so it travels to Ray workers."""

    config: BaseModel  # a registered step's config (its ``step`` field names the step)
    backend: BackendSpec | None = None
    plugins: list[str] = field(default_factory=list)

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


async def process_item(step: Step, item: InputItem, shared: SharedContext) -> dict[str, Any]:
    """The journal entry for one input item. Raises only for fatal backend errors (which stop the step)."""
    entry: dict[str, Any] = {"index": item.index, "id": item.id, "location": item.location}
    ctx = RecordContext(shared)
    if item.record is None:
        outcome = Outcome.failed(f"invalid record: {item.error}")
    else:
        try:
            outcome = await step.process(item.record, ctx)
        except BackendError as err:
            if err.fatal:
                raise
            outcome = Outcome.failed(f"backend error: {err}", retryable=err.retryable)
        except (DataError, OSError) as err:  # a missing or undecodable image, say
            outcome = Outcome.failed(f"input error: {err}")
        except Exception as err:  # a bug must cost one record, visibly, not the whole run
            outcome = Outcome.failed(f"internal error: {type(err).__name__}: {err}")
    if outcome.status != "kept" and not outcome.reason:
        raise RuntimeError(f"step {step.name!r} gave no reason for a {outcome.status} record")
    entry.update(status=outcome.status, reason=outcome.reason)
    if outcome.status == "failed":
        entry["retryable"] = outcome.retryable
    entry["outputs"] = [record_to_json(record) for record in outcome.outputs]
    entry["requests"] = ctx.requests
    entry["cached"] = ctx.cached
    return entry


class FailureBreaker:
    """Stops a step when ``limit`` records in a row fail: a dead server should not fail a million records."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_a_row = 0

    def observe(self, entry: dict[str, Any]) -> None:
        # Invalid input records are the data's fault, not the server's: they do not trip the breaker.
        if entry["status"] == "failed" and not entry["reason"].startswith("invalid record"):
            self.in_a_row += 1
            if self.in_a_row >= self.limit:
                raise StepAborted(
                    f"{self.in_a_row} records in a row failed (last: {entry['reason']}); stopping. "
                    "Finished records are kept: fix the cause and run again to resume"
                )
        else:
            self.in_a_row = 0
