"""What a step is: records in, records out (1 -> 0..n) with a verdict per record; steps see only ``Backend``."""

from __future__ import annotations

import abc
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from ayavision.annotate.records import image_bytes_of
from ayavision.annotate.registry import STEPS
from ayavision.annotate.templates import Template
from ayavision.backends import Backend, ChatRequest, ChatResponse
from ayavision.data import ConversationRecord
from ayavision.errors import ConfigError
from ayavision.jobs.cache import CachedChat, Tally

Status = Literal["kept", "dropped", "failed"]


@dataclass
class Outcome:
    """A step's verdict on one record. ``reason`` is said in the ledger; ``dropped`` and ``failed`` need one."""

    status: Status
    reason: str = ""
    outputs: list[ConversationRecord] = field(default_factory=list)
    retryable: bool = False  # failed: a later run (--retry-failed) may succeed

    @classmethod
    def kept(cls, outputs: list[ConversationRecord], reason: str = "") -> Outcome:
        return cls("kept", reason, list(outputs))

    @classmethod
    def dropped(cls, reason: str) -> Outcome:
        return cls("dropped", reason)

    @classmethod
    def failed(cls, reason: str, retryable: bool = False) -> Outcome:
        return cls("failed", reason, retryable=retryable)


class RecordContext:
    """A step's window on the world while it handles one record: cached chat and the record's images."""

    def __init__(self, shared: CachedChat, root: Path | None, tally: Tally | None = None) -> None:
        self.shared = shared  # the backend behind the request cache; ``shared.identity`` names the backend
        self.root = root
        self.tally = tally if tally is not None else Tally()

    @property
    def requests(self) -> int:
        """Requests sent to the backend for this record."""
        return self.tally.requests

    @property
    def cached(self) -> int:
        """Requests answered from the cache for this record."""
        return self.tally.cached

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return await self.shared.chat(request, self.tally)

    def images(self, record: ConversationRecord) -> list[bytes]:
        return image_bytes_of(record, self.root)


class Step(abc.ABC):
    """Turns one record into 0..n records. Subclasses set ``name`` and ``config_type`` and implement ``process``.

    A step is built from its config and a backend; it must not keep per-record state (records run
    concurrently, and on Ray in many processes).
    """

    name: ClassVar[str]
    config_type: ClassVar[type[BaseModel]]  # a StepOptions for a step that calls a model

    def __init__(self, config: BaseModel, backend: Backend | None) -> None:
        if not isinstance(config, self.config_type):
            raise TypeError(f"step {self.name!r} takes a {self.config_type.__name__}, got {type(config).__name__}")
        if backend is None and self.needs_backend(config):
            raise ConfigError(f"step {self.name!r} needs a backend")
        self.config = config
        self.backend = backend

    @classmethod
    def needs_backend(cls, config: BaseModel) -> bool:
        return True

    def templates(self) -> list[Template]:
        """The templates this step renders (their text is part of the fingerprint)."""
        return []

    def fingerprint(self) -> str:
        """A digest of what decides this step's outputs: config, template texts, backend identity."""
        payload = {
            "step": self.name,
            "config": self.config.model_dump(mode="json", exclude={"template_dir"}),
            "templates": {t.name: t.text for t in self.templates()},
            "backend": self.backend.identity() if self.backend is not None else None,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "config": self.config.model_dump(mode="json"),
            "templates": {t.name: t.origin for t in self.templates()},
            "backend": self.backend.identity() if self.backend is not None else None,
        }

    @abc.abstractmethod
    async def process(self, record: ConversationRecord, ctx: RecordContext) -> Outcome: ...


def register_step(cls: type[Step]) -> type[Step]:
    """Class decorator: make a step buildable by its ``name`` (from a pipeline file or on a Ray worker).

    Its ``config_type`` is how a pipeline file's entry for it is validated; it needs the ``step`` field that names
    the step (``step: Literal["uppercase"] = "uppercase"``), which is how a config finds its step again.
    """
    step_field = cls.config_type.model_fields.get("step")
    if step_field is None or step_field.default != cls.name:
        raise TypeError(f"step {cls.name!r}: {cls.config_type.__name__} needs a field step = {cls.name!r}")
    return STEPS.add(cls.name, cls)


def step_class(name: str) -> type[Step]:
    """The step registered as ``name``; a ``ConfigError`` naming the steps there are when none is."""
    return STEPS.get(name)
