"""A local OpenAI-compatible chat server for tests and benchmarks: scripted answers, latency, injected faults.

Needs ``aiohttp`` (``pip install ayavision[testing]``).

Binds 127.0.0.1 on a free port and serves ``GET /v1/models`` and ``POST /v1/chat/completions`` from a
background thread, so synchronous tests and the client's own event loop both work against it::

    with FakeOpenAIServer(answer=lambda body: "<answer>hi</answer>", latency=0.01,
                          faults=first_attempt_faults(0.3, seed=1)) as server:
        backend = create_backend("openai", base_url=server.url, model=server.models[0])

Faults are decided per request *content* and attempt number, not per arrival order, so a run is
reproducible however its requests interleave. Run as a script to serve from another process::

    python -m ayavision.testing.openai_server --latency 0.25   # prints "PORT <n>", serves until killed
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, Literal

from aiohttp import web

FaultKind = Literal["429", "500", "hang", "malformed", "empty"]
FAULT_KINDS: tuple[FaultKind, ...] = ("429", "500", "hang", "malformed", "empty")
# answer(body) -> text, or (text, finish_reason)
AnswerFn = Callable[[dict[str, Any]], "str | tuple[str, str]"]
# faults(body, attempt) -> a fault kind or None; attempt counts from 1 for each distinct request body
FaultFn = Callable[[dict[str, Any], int], "FaultKind | None"]


def body_key(body: dict[str, Any]) -> str:
    """A stable digest of a request body: retries of one request share it."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the last user message of a chat body (image parts skipped)."""
    for message in reversed(body.get("messages", [])):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        return "\n".join(part.get("text", "") for part in content if part.get("type") == "text")
    return ""


def default_answer(body: dict[str, Any]) -> str:
    digest = hashlib.sha256(last_user_text(body).encode()).hexdigest()[:12]
    return f"<answer>A detailed answer number {digest}.</answer>"


def first_attempt_faults(
    share: float, kinds: tuple[FaultKind, ...] = ("429", "500", "hang", "malformed"), seed: int = 0, attempts: int = 1
) -> FaultFn:
    """Make ``share`` of the distinct requests fail their first ``attempts`` attempts, with a kind picked by hash."""

    def decide(body: dict[str, Any], attempt: int) -> FaultKind | None:
        digest = hashlib.sha256(f"{seed}:{body_key(body)}".encode()).digest()
        if attempt > attempts or int.from_bytes(digest[:4], "big") / 2**32 >= share:
            return None
        return kinds[digest[4] % len(kinds)]

    return decide


def always_fail(share: float, kind: FaultKind = "500", seed: int = 0) -> FaultFn:
    """Make ``share`` of the distinct requests fail on every attempt."""
    return first_attempt_faults(share, (kind,), seed=seed, attempts=10**9)


class FakeOpenAIServer:
    """An OpenAI-compatible server on loopback; counts what it saw in ``stats`` for assertions."""

    def __init__(
        self,
        answer: AnswerFn | None = None,
        *,
        models: tuple[str, ...] = ("fake-model",),
        latency: float = 0.0,
        faults: FaultFn | None = None,
        api_key: str | None = None,
        retry_after: float = 0.05,
        hang_seconds: float = 30.0,
        usage: bool = True,
    ) -> None:
        self.answer = answer or default_answer
        self.models = models
        self.latency = latency
        self.faults = faults
        self.api_key = api_key
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.usage = usage
        self.port: int | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None
        self.reset_stats()

    # ----- statistics -------------------------------------------------------------------------------
    def reset_stats(self) -> None:
        with self._lock:
            self.requests = 0  # chat requests received, faulty ones included
            self.answered = 0  # chat requests answered with a valid completion
            self.answered_keys: Counter[str] = Counter()  # valid completions per body_key: a request redone shows
            self.attempts: Counter[str] = Counter()  # per body_key
            self.faults_sent: Counter[str] = Counter()
            self.in_flight = 0
            self.max_in_flight = 0
            self.authorization: set[str] = set()  # Authorization headers seen
            self.bodies: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server is not running")
        return f"http://127.0.0.1:{self.port}/v1"

    # ----- handlers ---------------------------------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        if (denied := self._check_auth(request)) is not None:
            return denied
        return web.json_response({"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]})

    def _check_auth(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization")
        with self._lock:
            if header:
                self.authorization.add(header)
        if self.api_key is not None and header != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "invalid API key", "code": 401}}, status=401)
        return None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._check_auth(request)) is not None:
            return denied
        body = await request.json()
        key = body_key(body)
        with self._lock:
            self.requests += 1
            self.attempts[key] += 1
            attempt = self.attempts[key]
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.bodies.append(body)
        try:
            return await self._respond(body, attempt)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _respond(self, body: dict[str, Any], attempt: int) -> web.StreamResponse:
        if body.get("model") not in self.models:
            message = f"The model `{body.get('model')}` does not exist."
            return web.json_response({"error": {"message": message, "type": "NotFoundError", "code": 404}}, status=404)
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = self.faults(body, attempt) if self.faults else None
        if fault is not None:
            with self._lock:
                self.faults_sent[fault] += 1
            if fault == "429":
                headers = {"Retry-After": f"{self.retry_after:g}"}
                return web.json_response({"error": {"message": "rate limited"}}, status=429, headers=headers)
            if fault == "500":
                return web.json_response({"error": {"message": "internal error"}}, status=500)
            if fault == "hang":
                await asyncio.sleep(self.hang_seconds)
                return web.json_response({"error": {"message": "too late"}}, status=504)
            if fault == "malformed":
                return web.Response(text='{"choices": [{"message": ', content_type="application/json")
            if fault == "empty":
                return web.json_response({"id": "x", "choices": []})
        result = self.answer(body)
        text, finish = result if isinstance(result, tuple) else (result, "stop")
        payload: dict[str, Any] = {
            "id": f"chatcmpl-{body_key(body)[:16]}",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        }
        if self.usage:
            payload["usage"] = {"prompt_tokens": len(json.dumps(body["messages"])) // 4, "completion_tokens": len(text)}
        with self._lock:
            self.answered += 1
            self.answered_keys[body_key(body)] += 1
        return web.json_response(payload)

    # ----- life cycle -------------------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        return app

    async def serve(self, port: int = 0, ready: Callable[[int], None] | None = None) -> None:
        """Serve on 127.0.0.1 until ``stop()``; calls ``ready(port)`` once listening."""
        self._stopped = asyncio.Event()
        runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        if ready:
            ready(self.port)
        try:
            await self._stopped.wait()
        finally:
            await runner.cleanup()

    def start(self) -> FakeOpenAIServer:
        started = threading.Event()

        def run() -> None:
            self._loop = loop = asyncio.new_event_loop()
            loop.run_until_complete(self.serve(ready=lambda _port: started.set()))
            # Handlers still sleeping (a "hang" fault) are cancelled, not left to warn at interpreter exit.
            leftover = asyncio.all_tasks(loop)
            for task in leftover:
                task.cancel()
            if leftover:
                loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-openai-server", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the fake OpenAI server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(10)
        self.port = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--model", default="fake-model")
    args = parser.parse_args()
    server = FakeOpenAIServer(models=(args.model,), latency=args.latency)
    asyncio.run(server.serve(args.port, ready=lambda port: print(f"PORT {port}", flush=True)))


if __name__ == "__main__":
    main()
