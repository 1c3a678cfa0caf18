"""The transformers backend on the tiny random AyaVision: concurrent chats become one batch, images included."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image

from ayavision.backends import ChatRequest, available_backends, create_backend


def _png(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_concurrent_requests_are_batched_and_bounded(tiny_model_dir: Path):
    backend = create_backend("transformers", model=str(tiny_model_dir), batch_size=4)
    assert backend.kind == "vlm" and "transformers" in available_backends()
    requests = [
        ChatRequest(
            messages=[
                {"role": "user", "content": [{"type": "image", "image": _png(c)}, {"type": "text", "text": "What?"}]}
            ],
            max_tokens=6,
        )
        for c in ("red", "blue")
    ]
    requests.append(ChatRequest(messages=[{"role": "user", "content": "Text only, please."}], max_tokens=6))
    calls: list[int] = []

    async def go():
        await backend.check()
        real = backend.model.generate

        def generate(*args, **kwargs):
            calls.append(kwargs["input_ids"].shape[0])
            assert kwargs["max_new_tokens"] == 6
            return real(*args, **kwargs)

        backend.model.generate = generate
        try:
            return await asyncio.gather(*(backend.chat(r) for r in requests))
        finally:
            await backend.aclose()

    responses = asyncio.run(go())
    assert calls == [3]  # one generate call for the three concurrent requests
    assert all(r.completion_tokens is not None and r.completion_tokens <= 6 for r in responses)
    assert all(r.finish_reason in ("stop", "length") for r in responses)
    identity = backend.identity()
    assert identity["backend"] == "transformers" and identity["kind"] == "vlm" and len(identity["weights"]) == 16
