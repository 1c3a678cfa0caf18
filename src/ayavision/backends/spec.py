"""A backend named in a config file: registry name plus options, built where it is used (here or on a Ray worker)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ayavision.backends.base import Backend, create_backend


class BackendSpec(BaseModel):
    """A backend by registry name plus its options, e.g. ``{kind: openai, base_url: ..., model: ...}``.

    The options are checked by the backend itself when it is created (each rejects unknown ones).
    """

    model_config = ConfigDict(extra="allow")

    kind: str = Field(min_length=1)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def label(self) -> str:
        model = self.options.get("model")
        return f"{self.kind}:{model}" if model else self.kind

    def build(self) -> Backend:
        return create_backend(self.kind, **self.options)
