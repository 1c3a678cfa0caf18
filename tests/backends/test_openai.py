"""The openai backend against a local fake server: bodies, retries, Retry-After, caps and clear failures."""

from __future__ import annotations

import asyncio
import base64
import io
import socket

import pytest
from PIL import Image

from ayavision.backends import BackendError, ChatRequest, create_backend
from ayavision.backends.openai import parse_retry_after
from ayavision.testing.openai_server import FakeOpenAIServer, always_fail, first_attempt_faults


def _request(text: str = "hello", **kwargs) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": text}], max_tokens=kwargs.pop("max_tokens", 32), **kwargs)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


async def _ask(backend, *requests: ChatRequest):
    try:
        return await asyncio.gather(*(backend.chat(r) for r in requests))
    finally:
        await backend.aclose()


def _backend(server: FakeOpenAIServer, **options):
    options.setdefault("backoff_base", 0.01)
    return create_backend("openai", base_url=server.url, model="fake-model", **options)


def test_sends_images_explicit_max_tokens_and_the_key_without_exposing_it(monkeypatch):
    monkeypatch.setenv("MY_TEST_KEY", "sk-secret-123")
    with FakeOpenAIServer(answer=lambda body: "fine", api_key="sk-secret-123") as server:
        backend = _backend(server, api_key_env="MY_TEST_KEY")
        image = _png()
        request = ChatRequest(
            messages=[{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "Q"}]}],
            max_tokens=777,
            stop=("</answer>",),
            seed=3,
        )
        (response,) = asyncio.run(_ask(backend, request))
    assert response.text == "fine" and response.finish_reason == "stop"
    body = server.bodies[0]
    assert body["max_tokens"] == 777 and body["stop"] == ["</answer>"] and body["seed"] == 3
    url = body["messages"][0]["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,") and base64.b64decode(url.split(",", 1)[1]) == image
    assert server.authorization == {"Bearer sk-secret-123"}
    assert "sk-secret" not in repr(backend) and "sk-secret" not in str(backend.identity())


@pytest.mark.parametrize("kind", ["429", "500", "hang", "malformed", "empty"])
def test_each_kind_of_fault_is_retried_until_the_answer_comes(kind):
    with FakeOpenAIServer(faults=first_attempt_faults(1.0, (kind,)), retry_after=0.01, hang_seconds=5) as server:
        backend = _backend(server, timeout=0.3)
        (response,) = asyncio.run(_ask(backend, _request()))
    assert response.text.startswith("<answer>")
    assert server.requests == 2 and server.faults_sent[kind] == 1


def test_retry_after_is_honoured(monkeypatch):
    import ayavision.backends.openai as module

    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(module.asyncio, "sleep", recording_sleep)
    with FakeOpenAIServer(faults=first_attempt_faults(1.0, ("429",)), retry_after=7.5) as server:
        asyncio.run(_ask(_backend(server), _request()))
    assert 7.5 in slept  # the server's wait, not the backend's own jittered backoff
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: go now
    assert parse_retry_after("soon") is None and parse_retry_after("99999") == 600.0


def test_gives_up_after_max_retries_with_a_retryable_error():
    with (
        FakeOpenAIServer(faults=always_fail(1.0, "500")) as server,
        pytest.raises(BackendError, match="gave up after 3 attempt") as caught,
    ):
        asyncio.run(_ask(_backend(server, max_retries=2), _request()))
    assert caught.value.retryable and not caught.value.fatal and server.requests == 3


def test_a_bad_request_is_not_retried():
    with FakeOpenAIServer(models=("other",)) as server:
        backend = create_backend("openai", base_url=server.url, model="fake-model", check_model=False)
        with pytest.raises(BackendError, match="does not exist") as caught:
            asyncio.run(_ask(backend, _request()))
    assert caught.value.fatal and server.requests == 1


def test_concurrency_cap_bounds_requests_in_flight():
    with FakeOpenAIServer(latency=0.05) as server:
        asyncio.run(_ask(_backend(server, concurrency=3), *[_request(f"q{i}") for i in range(12)]))
    assert server.max_in_flight == 3 and server.answered == 12


def test_check_names_an_unknown_model_and_the_served_ones():
    with FakeOpenAIServer(models=("served-a", "served-b")) as server:
        backend = _backend(server)
        with pytest.raises(BackendError, match=r"'fake-model' is not served .* served-a, served-b") as caught:
            asyncio.run(backend.check())
    assert caught.value.fatal


def test_check_reports_an_unreachable_endpoint():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    backend = create_backend("openai", base_url=f"http://127.0.0.1:{port}/v1", model="m")
    with pytest.raises(BackendError, match="cannot reach") as caught:
        asyncio.run(backend.check())
    assert caught.value.fatal


def test_missing_key_variable_and_unknown_options_are_clear_errors(monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(ValueError, match="NO_SUCH_KEY_VAR"):
        create_backend("openai", base_url="http://127.0.0.1:1/v1", model="m", api_key_env="NO_SUCH_KEY_VAR")
    with pytest.raises(ValueError, match="concurency"):
        create_backend("openai", base_url="http://127.0.0.1:1/v1", model="m", concurency=3)


def test_requests_per_minute_limit_is_applied_to_every_attempt(monkeypatch):
    from aiolimiter import AsyncLimiter

    acquired: list[float] = []
    real_acquire = AsyncLimiter.acquire

    async def counting_acquire(self, amount: float = 1) -> None:
        acquired.append(self.max_rate)
        await real_acquire(self, amount)

    monkeypatch.setattr(AsyncLimiter, "acquire", counting_acquire)
    with FakeOpenAIServer(faults=first_attempt_faults(1.0, ("500",))) as server:
        asyncio.run(_ask(_backend(server, requests_per_minute=600), _request("a"), _request("b")))
    assert acquired == [600, 600, 600, 600]  # two requests, each retried once: the server counts retries too


def test_text_only_content_goes_as_a_string_and_image_content_as_parts():
    with FakeOpenAIServer(answer=lambda body: "fine") as server:
        parts = [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]
        image = [{"type": "image", "image": _png()}, {"type": "text", "text": "Q"}]
        requests = [
            ChatRequest(
                messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": parts}], max_tokens=8
            ),
            ChatRequest(messages=[{"role": "user", "content": image}], max_tokens=8),
        ]
        asyncio.run(_ask(_backend(server), *requests))
    bodies = sorted(server.bodies, key=lambda body: len(body["messages"]))
    image_body, text_body = bodies
    # Many servers' text templates concatenate content as a string: a list there is an HTTP 500.
    assert text_body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first\nsecond"},
    ]
    assert [p["type"] for p in image_body["messages"][0]["content"]] == ["image_url", "text"]


def test_a_server_error_that_repeats_verbatim_is_reported_after_a_few_tries_with_its_message():
    with (
        FakeOpenAIServer(faults=always_fail(1.0, "500")) as server,
        pytest.raises(BackendError, match="same each time: HTTP 500: internal error") as caught,
    ):
        asyncio.run(_ask(_backend(server, max_retries=6, same_error_limit=4), _request()))
    assert server.requests == 4  # not the 7 that max_retries allows
    assert caught.value.retryable  # a later run, against a fixed server, may succeed
    # Rate limits and overloaded servers do recover: a repeated 429 is retried up to max_retries.
    with FakeOpenAIServer(faults=always_fail(1.0, "429")) as server, pytest.raises(BackendError, match="gave up"):
        asyncio.run(_ask(_backend(server, max_retries=5, same_error_limit=2, backoff_max=0.02), _request()))
    assert server.requests == 6
