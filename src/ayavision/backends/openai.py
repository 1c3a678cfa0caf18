"""The ``openai`` backend: any OpenAI-compatible chat endpoint (vLLM, SGLang, TGI, hosted APIs).

Built on ``httpx2.AsyncClient`` rather than the ``openai`` package: the official client retries on its own
schedule, hides the ``Retry-After`` of a 429 behind its own policy and raises on response shapes that
self-hosted servers vary in, while a pipeline of millions of calls needs one place that decides what is
retried, how long to wait, how many requests are in flight and what fails for good. ``httpx2`` is the
maintained successor of ``httpx`` (same API; the openai client and huggingface_hub use it, so it is
installed anyway): httpx 0.28's connection pool does work proportional to requests x connections on
every request, which cut throughput at 128 concurrent requests to a sixth of the server's bound.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import time
from typing import Any

import httpx2 as httpx
from aiolimiter import AsyncLimiter
from pydantic import Field

from ayavision.backends.base import Backend, BackendError, ChatRequest, ChatResponse, register_backend
from ayavision.backends.media import data_url
from ayavision.errors import ConfigError
from ayavision.utils.config import Strict

_RETRY_STATUS = {408, 409, 425, 429}  # plus every 5xx
# Gateways and overloaded servers recover; any other 5xx that comes back with the same message is the server
# failing on this request (a template that cannot take it, say): retrying for minutes cannot help.
_TRANSIENT_5XX = {502, 503, 504}
_MAX_RETRY_AFTER = 600.0  # a server asking for more than ten minutes is treated as asking for ten
# Connections per HTTP client: a pool's bookkeeping grows with its size on every request, so a high
# concurrency is spread over several small pools (measured: 0.89 -> 0.95 of the bound at 128 in flight).
_POOL_SIZE = 16


class OpenAIConfig(Strict):
    """Options of the ``openai`` backend; unknown keys are refused so a typo never passes silently."""

    base_url: str = Field(description="endpoint root, e.g. http://localhost:8000/v1")
    model: str = Field(min_length=1, description="model name as the server knows it")
    api_key_env: str | None = Field(None, description="environment variable holding the API key (never logged)")
    concurrency: int = Field(16, ge=1, description="requests in flight at most")
    requests_per_minute: float | None = Field(None, gt=0, description="rate limit; retries count too")
    timeout: float = Field(120.0, gt=0, description="seconds for one HTTP request")
    max_retries: int = Field(6, ge=0, description="retries after the first attempt")
    same_error_limit: int = Field(
        4, ge=1, description="give up once a server error (5xx other than 502-504) repeats this many times verbatim"
    )
    backoff_base: float = Field(1.0, ge=0, description="first retry waits about this many seconds, then doubles")
    backoff_max: float = Field(60.0, ge=0)
    revision: str | None = Field(None, description="optional tag kept in cache keys (e.g. a quantisation)")
    check_model: bool = Field(True, description="check at start that the endpoint serves the model")


class _Attempt(Exception):
    """One attempt that failed in a way worth retrying; ``retry_after`` is what the server asked for."""

    def __init__(self, message: str, retry_after: float | None = None, repeatable: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.repeatable = repeatable  # the same message again means the server fails this request every time


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent or invalid."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def _server_message(response: httpx.Response) -> str:
    """The server's error message, short: enough to act on, never a whole HTML page."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = None
    return str(message or response.text)[:300].strip()


def _to_openai_content(content: Any) -> Any:
    """A plain string for text-only content, parts only when there is an image.

    Many servers' text templates (llama.cpp's, a ChatML ``message['content'] + ...``) and hosted text endpoints
    take only strings; OpenAI joins text parts with newlines, and so does this.
    """
    if isinstance(content, str):
        return content
    if all(part.get("type") == "text" for part in content):
        return "\n".join(part["text"] for part in content)
    parts = []
    for part in content:
        if part.get("type") == "image":
            parts.append({"type": "image_url", "image_url": {"url": data_url(part["image"])}})
        elif part.get("type") == "text":
            parts.append({"type": "text", "text": part["text"]})
        else:
            raise ValueError(f"unsupported content part type {part.get('type')!r}")
    return parts


class OpenAIBackend(Backend):
    """Async HTTP with a concurrency cap, an optional rate limit and retries with backoff."""

    name = "openai"

    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config
        self.url = config.base_url.rstrip("/")
        headers = {}
        if config.api_key_env:
            key = os.environ.get(config.api_key_env)
            if not key:
                raise ConfigError(f"environment variable {config.api_key_env} (named by api_key_env) is not set")
            headers["Authorization"] = f"Bearer {key}"
        self._headers = headers
        self._clients: list[httpx.AsyncClient] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Queue[int] | None = None  # free slot numbers; slot k uses client k // _POOL_SIZE
        self._limiter: AsyncLimiter | None = None
        self._paused_until = 0.0  # a 429's Retry-After holds back every request, not only the one that got it

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIBackend(url={self.url!r}, model={self.config.model!r})"

    @property
    def preferred_concurrency(self) -> int:
        return self.config.concurrency

    def identity(self) -> dict[str, Any]:
        # The endpoint is left out: replicas (or a restarted server) of one model share cached answers.
        identity: dict[str, Any] = {"backend": "openai", "model": self.config.model}
        if self.config.revision:
            identity["revision"] = self.config.revision
        return identity

    def _ensure_clients(self) -> list[httpx.AsyncClient]:
        # Created lazily inside the running loop: httpx clients and queues belong to one event loop,
        # so a backend reused under a new loop (one asyncio.run per step) gets fresh ones.
        loop = asyncio.get_running_loop()
        if not self._clients or self._loop is not loop:
            self._loop = loop
            c = self.config.concurrency
            self._clients = [
                httpx.AsyncClient(
                    headers=self._headers,
                    timeout=httpx.Timeout(self.config.timeout),
                    limits=httpx.Limits(max_connections=_POOL_SIZE, max_keepalive_connections=_POOL_SIZE),
                )
                for _ in range((c + _POOL_SIZE - 1) // _POOL_SIZE)
            ]
            self._slots = asyncio.Queue()
            for slot in range(c):
                self._slots.put_nowait(slot)
            if self.config.requests_per_minute:
                self._limiter = AsyncLimiter(self.config.requests_per_minute, 60.0)
        return self._clients

    async def check(self) -> None:
        client = self._ensure_clients()[0]
        try:
            response = await client.get(f"{self.url}/models", timeout=min(self.config.timeout, 30.0))
        except httpx.TimeoutException:
            raise BackendError(f"{self.url} did not answer GET /models in time", fatal=True) from None
        except httpx.TransportError as err:
            raise BackendError(f"cannot reach {self.url}: {err or type(err).__name__}", fatal=True) from None
        if response.status_code in (401, 403):
            raise BackendError(
                f"{self.url} refused the request (HTTP {response.status_code}: {_server_message(response)}); "
                "check the API key in the variable named by api_key_env",
                fatal=True,
            )
        if response.status_code != 200 or not self.config.check_model:
            return  # some servers have no /models; the first chat request will tell
        try:
            served = [entry["id"] for entry in response.json()["data"]]
        except (ValueError, KeyError, TypeError):
            return
        if served and self.config.model not in served:
            raise BackendError(
                f"model {self.config.model!r} is not served by {self.url}; it serves: {', '.join(served)}", fatal=True
            )

    def body(self, request: ChatRequest) -> dict[str, Any]:
        """The JSON body of a chat completion request."""
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [{**m, "content": _to_openai_content(m["content"])} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        body.update(request.extra)
        return body

    async def chat(self, request: ChatRequest) -> ChatResponse:
        body = self.body(request)
        clients = self._ensure_clients()
        slots = self._slots
        assert slots is not None
        attempts = 0
        same_error, last_error = 0, None
        while True:
            attempts += 1
            if (wait := self._paused_until - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            if self._limiter is not None:
                await self._limiter.acquire()
            slot = await slots.get()  # the concurrency cap: a slot per request in flight
            try:
                return await self._attempt(clients[slot // _POOL_SIZE], body)
            except _Attempt as problem:
                same_error = same_error + 1 if problem.repeatable and str(problem) == last_error else 1
                last_error = str(problem) if problem.repeatable else None
                if attempts > self.config.max_retries:
                    raise BackendError(f"gave up after {attempts} attempt(s): {problem}", retryable=True) from None
                if problem.repeatable and same_error >= self.config.same_error_limit:
                    # Retryable still: a later run, against a fixed server, may succeed.
                    raise BackendError(
                        f"gave up after {attempts} attempt(s), the server answering the same each time: {problem}",
                        retryable=True,
                    ) from None
                delay = problem.retry_after
                if delay is None:
                    # Full jitter: retries of many requests that failed together spread out instead of colliding.
                    cap = min(self.config.backoff_max, self.config.backoff_base * 2 ** (attempts - 1))
                    delay = random.uniform(cap / 2, cap)
                else:
                    self._paused_until = max(self._paused_until, time.monotonic() + delay)
            finally:
                slots.put_nowait(slot)  # released before any backoff: a waiting retry holds no slot
            await asyncio.sleep(delay)

    async def _attempt(self, client: httpx.AsyncClient, body: dict[str, Any]) -> ChatResponse:
        try:
            response = await client.post(f"{self.url}/chat/completions", json=body)
        except httpx.TimeoutException:
            raise _Attempt(f"no answer within {self.config.timeout:g} s") from None
        except httpx.TransportError as err:
            raise _Attempt(f"connection error: {err or type(err).__name__}") from None
        status = response.status_code
        if status == 200:
            return self._parse(response)
        message = f"HTTP {status}: {_server_message(response)}"
        if status == 429 or status in _RETRY_STATUS or status >= 500:
            repeatable = status >= 500 and status not in _TRANSIENT_5XX
            raise _Attempt(message, parse_retry_after(response.headers.get("Retry-After")), repeatable)
        if status in (401, 403):
            raise BackendError(f"{message} (check the API key)", fatal=True)
        if status == 404:
            raise BackendError(f"{message} (is the model {self.config.model!r} served at {self.url}?)", fatal=True)
        raise BackendError(message)  # 400, 413, 422: this request is wrong; retrying cannot help

    def _parse(self, response: httpx.Response) -> ChatResponse:
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _Attempt(f"malformed response (not JSON): {response.text[:100]!r}") from None
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise _Attempt(f"malformed response (no choices[0].message.content): {str(data)[:100]}") from None
        if not isinstance(text, str):
            raise _Attempt(f"malformed response (content is {type(text).__name__}, not text)")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        return ChatResponse(
            text=text,
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
        )

    async def aclose(self) -> None:
        if self._clients and self._loop is asyncio.get_running_loop():
            await asyncio.gather(*(client.aclose() for client in self._clients))
        self._clients = []


@register_backend("openai")
def create_openai_backend(**options: Any) -> OpenAIBackend:
    return OpenAIBackend(OpenAIConfig(**options))
