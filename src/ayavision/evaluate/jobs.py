"""Answering and judging as jobs of the shared engine (``ayavision.jobs``): specs, tasks, and one way to run them.

Evaluation generates through the ``Backend`` interface like annotation: the same bounded concurrency, failure
rule, request cache and executors. An answers file or a judgments file is the job's journal; the request cache
under it keeps every answer that arrived, so a killed run redoes no finished request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ayavision.backends import Backend, ChatRequest
from ayavision.backends.spec import BackendSpec
from ayavision.evaluate.items import BenchItem
from ayavision.evaluate.settings import GenerationSettings, JudgeSettings
from ayavision.evaluate.verdicts import JudgePrompt, parse_verdict
from ayavision.jobs import CachedChat, ExecutorConfig, Job, JobAborted, JsonLog, LocalExecutorConfig, Tally, run_job
from ayavision.utils.plugins import load_plugins
from ayavision.utils.progress import progress_bar


def item_messages(item: BenchItem, max_pixels: int | None = None) -> list[dict[str, Any]]:
    """The chat for one item: its images (as encoded bytes, checked to decode) first, then the prompt."""
    content: list[dict[str, Any]] = []
    for ref in item.images:
        if max_pixels is not None:
            ref.open(max_pixels)  # refuse an undecodable or oversized image here, not at the endpoint
        content.append({"type": "image", "image": ref.read_bytes()})
    content.append({"type": "text", "text": item.prompt})
    return [{"role": "user", "content": content}]


def _failed(key: str, error: BaseException) -> dict[str, Any]:
    return {"status": "failed", "reason": str(error), "key": key}


@dataclass(frozen=True)
class GenerateTask:
    """One item -> one answer."""

    settings: GenerationSettings

    def request(self, item: BenchItem) -> ChatRequest:
        extra = {"top_p": self.settings.top_p} if self.settings.top_p is not None else {}
        return ChatRequest(
            messages=item_messages(item, self.settings.max_pixels),
            max_tokens=self.settings.max_new_tokens,
            temperature=self.settings.temperature,
            seed=self.settings.seed,
            extra=extra,
        )

    async def run(self, item: BenchItem, chat: CachedChat, tally: Tally) -> dict[str, Any]:
        response = await chat.chat(self.request(item), tally)
        answer = {
            "text": response.text,
            "finish_reason": response.finish_reason,
            "prompt_tokens": response.prompt_tokens,
            "completion_tokens": response.completion_tokens,
        }
        return {"status": "kept", "reason": "", "key": item.id, "answer": answer}

    def failed(self, item: BenchItem, error: BaseException, tally: Tally) -> dict[str, Any]:
        return _failed(item.id, error)


@dataclass(frozen=True)
class Game:
    """One judgment: an item's two answers in one slot order, as the judge's messages."""

    item_id: str
    language: str
    number: int  # 1: a's answer in slot A; 2: b's answer in slot A
    key: str
    messages: list[dict[str, Any]]


@dataclass(frozen=True)
class JudgeTask:
    """One game -> the judge's verdict (asking once more when the reply holds none)."""

    prompt: JudgePrompt
    settings: JudgeSettings

    def request(self, messages: list[dict[str, Any]]) -> ChatRequest:
        settings = self.settings
        return ChatRequest(messages=messages, max_tokens=settings.max_tokens, temperature=settings.temperature)

    async def run(self, game: Game, chat: CachedChat, tally: Tally) -> dict[str, Any]:
        reply = (await chat.chat(self.request(game.messages), tally)).text
        replies = [reply]
        verdict = parse_verdict(reply)
        if verdict is None and self.settings.reask:
            retry = (await chat.chat(self.request(self.prompt.retry_messages(game.messages, reply)), tally)).text
            replies.append(retry)
            verdict = parse_verdict(retry)
        return {"status": "kept", "reason": "", "key": game.key, "verdict": verdict, "replies": replies}

    def failed(self, game: Game, error: BaseException, tally: Tally) -> dict[str, Any]:
        return _failed(game.key, error)


@dataclass
class EvalSpec:
    """What a worker builds: the backend (from its spec, or none when the caller passes a built one) and the task."""

    task: GenerateTask | JudgeTask
    backend: BackendSpec | None = None
    plugins: list[str] = field(default_factory=list)

    def build_backend(self) -> Backend | None:
        load_plugins(self.plugins, "plugins")  # a Ray worker imports them too: they may register the backend
        return self.backend.build() if self.backend is not None else None

    def build_task(self, backend: Backend | None) -> GenerateTask | JudgeTask:
        return self.task


@contextlib.contextmanager
def eval_backend(
    backend: Backend | BackendSpec, plugins: list[str] | None
) -> Iterator[tuple[Backend, BackendSpec | None]]:
    """The backend built here (its identity names answers and cache keys), and its spec when there is one.

    A built backend is the caller's to close; one built here from a spec is closed on the way out. Only a spec
    can go to Ray workers (each builds its own).
    """
    load_plugins(list(plugins or []), "plugins")  # they may register the backend
    built = backend.build() if isinstance(backend, BackendSpec) else backend
    try:
        yield built, backend if isinstance(backend, BackendSpec) else None
    finally:
        if built is not backend:
            asyncio.run(built.aclose())


@dataclass
class JobOutcome:
    done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (item id or game key, why)
    aborted: str | None = None  # why the run stopped early, if it did
    not_started: int = 0

    @property
    def complete(self) -> bool:
        return not self.failed and not self.not_started


@dataclass
class EvalRun:
    """How one evaluation job runs (none of this changes an answer)."""

    backend: Backend | None  # built here (its identity names the answers); None: each worker builds the spec's
    cache_dir: Path | None
    max_consecutive_failures: int
    in_flight: int | None  # items at once (None: twice the backend's own concurrency)
    description: str
    progress: bool
    executor: ExecutorConfig | None = None


def run_eval_job(
    spec: EvalSpec,
    items: Sequence[Any],
    journal: JsonLog,
    to_record: Callable[[dict[str, Any]], dict[str, Any]],
    run: EvalRun,
) -> JobOutcome:
    """Run ``spec``'s task on every item; each finished entry becomes a line of ``journal`` as it arrives.

    A fatal backend error or ``max_consecutive_failures`` failures in a row stop the run: no new item starts, and
    the items without an answer are counted in ``not_started``. A backend that fails its check raises its error.
    """
    outcome = JobOutcome()
    with contextlib.closing(journal), progress_bar(run.description, len(items), enabled=run.progress) as advance:

        def commit(entry: dict[str, Any]) -> None:
            if entry["status"] == "failed":
                outcome.failed.append((entry["key"], entry["reason"]))
            else:
                journal.append([to_record(entry)])
                outcome.done += 1
            advance()

        job = Job(spec, items, run.cache_dir, commit, run.max_consecutive_failures, backend=run.backend)
        try:
            if items:
                run_job(job, run.executor or LocalExecutorConfig(records_in_flight=run.in_flight))
        except JobAborted as err:
            outcome.aborted = str(err)
    outcome.not_started = len(items) - outcome.done - len(outcome.failed)
    return outcome
