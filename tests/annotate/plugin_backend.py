"""A plug-in backend, registered by importing this module (as the shapes world registers its demo backends)."""

from __future__ import annotations

from typing import Any

from ayavision.backends import Backend, ChatRequest, ChatResponse, register_backend


class ShoutingTeacher(Backend):
    """Recaptions by shouting the reference answer; answers every judge with YES."""

    name = "shouting-teacher"

    def __init__(self, volume: int = 1) -> None:
        self.volume = volume

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "volume": self.volume}

    async def chat(self, request: ChatRequest) -> ChatResponse:
        text = request.messages[-1]["content"][-1]["text"]
        if "YES or NO" in text:
            return ChatResponse("YES")
        reference = text.split("Reference answer: ", 1)[1].split("\n", 1)[0]
        return ChatResponse(f"<answer>{reference.upper()}{'!' * self.volume}</answer>", "stop")


@register_backend("shouting-teacher")
def create(**options: Any) -> ShoutingTeacher:
    unknown = set(options) - {"volume"}
    if unknown:
        raise ValueError(f"shouting-teacher: unknown option(s) {sorted(unknown)}")
    return ShoutingTeacher(**options)
