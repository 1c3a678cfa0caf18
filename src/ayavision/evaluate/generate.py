"""Answer a benchmark with a local model folder or any backend, cached per item in an answers file.

``generate_answers(items, out, model=LocalModel(...) | backend=Backend)`` appends one line per answered item
to ``out`` (the format is documented in ``ayavision.evaluate.answers``). Items already in ``out`` are skipped,
so a killed or failed run resumes where it stopped; answers from another model or other settings in the same
file are refused. Items that fail (the endpoint gave up, an image is unreadable) are not written, are
counted, and raise ``GenerationIncomplete`` at the end, after every other item has been answered.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ayavision.backends.base import Backend, ChatRequest, ChatResponse
from ayavision.errors import AyaVisionError, ConfigError, InputError
from ayavision.evaluate.answers import AnswersError, Generated, read_answers
from ayavision.evaluate.items import BenchItem
from ayavision.evaluate.jsonlog import JsonLog
from ayavision.evaluate.runner import ITEM_FAILURES, progress_bar, run_bounded
from ayavision.evaluate.settings import GenerationSettings

if TYPE_CHECKING:  # torch and transformers load only when a local model is used
    from ayavision.evaluate.local_model import LocalModel


class GenerationIncomplete(AyaVisionError, RuntimeError):
    """Some items got no answer; the others are saved, and a rerun answers only the missing ones."""

    def __init__(self, summary: GenerateSummary) -> None:
        self.summary = summary
        failed = "; ".join(f"{item_id}: {why}" for item_id, why in summary.failed[:5])
        more = f" ... ({len(summary.failed) - 5} more)" if len(summary.failed) > 5 else ""
        reason = f"stopped early: {summary.aborted}; " if summary.aborted else ""
        super().__init__(
            f"{len(summary.failed) + summary.not_started} of {summary.total} item(s) have no answer ({reason}"
            f"failed: {failed}{more}); {summary.written + summary.cached} answers are saved in {summary.out}; "
            "run the same command again to answer the rest"
        )


@dataclass
class GenerateSummary:
    out: Path
    total: int
    cached: int = 0
    written: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    not_started: int = 0
    aborted: str | None = None
    truncated: int = 0  # answers cut at max_new_tokens
    repaired_tail: bool = False

    @property
    def complete(self) -> bool:
        return not self.failed and not self.not_started


def _record(
    item: BenchItem, gen: Generated, model: dict[str, Any], settings: GenerationSettings, data: str | None
) -> dict[str, Any]:
    return {
        "id": item.id,
        "bench": item.bench,
        "language": item.language,
        "prompt": item.prompt,
        "answer": gen.text,
        "finish_reason": gen.finish_reason,
        "prompt_tokens": gen.prompt_tokens,
        "completion_tokens": gen.completion_tokens,
        "model": model,
        "generation": settings.identity(),
        "data": data,
    }


def _pending(
    items: list[BenchItem], out: Path, model: dict[str, Any], settings: GenerationSettings, summary: GenerateSummary
) -> list[BenchItem]:
    existing = read_answers(out, must_exist=False)
    summary.repaired_tail = existing.repaired_tail
    if existing.records:
        first = next(iter(existing.records.values()))
        for key, wanted in (("bench", items[0].bench), ("model", model), ("generation", settings.identity())):
            if first[key] != wanted:
                raise AnswersError(
                    f"{out} holds answers with {key} {first[key]!r}, not {wanted!r}; "
                    "write to another file or pass --overwrite to start again"
                )
    changed = [
        item.id for item in items if item.id in existing.records and existing.records[item.id]["prompt"] != item.prompt
    ]
    if changed:
        raise AnswersError(
            f"{out} holds answers to other prompts for {len(changed)} item(s) (e.g. {changed[0]}): the benchmark "
            "data changed; write to another file or pass --overwrite to start again"
        )
    pending = [item for item in items if item.id not in existing.records]
    summary.cached = len(items) - len(pending)
    return pending


def _check_items(items: list[BenchItem]) -> None:
    if not items:
        raise InputError("no items to answer")
    benches = {item.bench for item in items}
    if len(benches) > 1:
        raise InputError(f"items from several benchmarks ({', '.join(sorted(benches))}); one answers file each")


def generate_answers(
    items: list[BenchItem],
    out: str | Path,
    *,
    model: LocalModel | None = None,
    backend: Backend | None = None,
    settings: GenerationSettings | None = None,
    data: str | Path | None = None,
    progress: bool = True,
) -> GenerateSummary:
    """Answer every item not yet in ``out`` with ``model`` (batched) or ``backend`` (concurrent requests).

    ``data`` is the benchmark path, recorded so that ``eval judge`` can find the items' images later.
    Raises ``GenerationIncomplete`` if some items failed; the answers of the others are kept.
    """
    if (model is None) == (backend is None):
        raise ConfigError("give exactly one of a local model or a backend")
    settings = settings or GenerationSettings()
    _check_items(items)
    out = Path(out)
    data_text = str(Path(data).resolve()) if data is not None else None
    summary = GenerateSummary(out=out, total=len(items))
    identity = model.identity() if model is not None else backend.identity()  # type: ignore[union-attr]
    identity = json.loads(json.dumps(identity))  # as it reads back from the file (tuples become lists)
    pending = _pending(items, out, identity, settings, summary)
    log = JsonLog(out)

    def save(item: BenchItem, gen: Generated) -> None:
        log.append([_record(item, gen, identity, settings, data_text)])
        summary.written += 1
        summary.truncated += gen.finish_reason == "length"

    with progress_bar(f"answering {items[0].bench}", len(pending), enabled=progress) as advance:
        if model is not None:
            _run_local(model, pending, settings, save, summary, advance)
        else:
            asyncio.run(_run_backend(backend, pending, settings, save, summary, advance))  # type: ignore[arg-type]
    if not summary.complete:
        raise GenerationIncomplete(summary)
    return summary


def _run_local(model: LocalModel, pending, settings, save, summary: GenerateSummary, advance) -> None:
    for start in range(0, len(pending), settings.batch_size):
        batch, images = [], []
        for item in pending[start : start + settings.batch_size]:
            try:
                images.append([ref.open(settings.max_pixels) for ref in item.images])
                batch.append(item)
            except ITEM_FAILURES as err:
                summary.failed.append((item.id, str(err)))
                advance()
        if not batch:
            continue
        for item, gen in zip(batch, model.generate(batch, images, settings), strict=True):
            save(item, gen)
            advance()


def item_messages(item: BenchItem, max_pixels: int | None = None) -> list[dict[str, Any]]:
    """The chat for one item: its images (as encoded bytes, checked to decode) first, then the prompt."""
    content: list[dict[str, Any]] = []
    for ref in item.images:
        if max_pixels is not None:
            ref.open(max_pixels)  # refuse an undecodable or oversized image here, not at the endpoint
        content.append({"type": "image", "image": ref.read_bytes()})
    content.append({"type": "text", "text": item.prompt})
    return [{"role": "user", "content": content}]


async def _run_backend(backend: Backend, pending, settings: GenerationSettings, save, summary, advance) -> None:
    if pending:
        await backend.check()  # an unreachable endpoint or unknown model fails here, before any item
    extra = {"top_p": settings.top_p} if settings.top_p is not None else {}

    async def work(item: BenchItem) -> ChatResponse:
        request = ChatRequest(
            messages=item_messages(item, settings.max_pixels),
            max_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            seed=settings.seed,
            extra=extra,
        )
        return await backend.chat(request)

    def on_result(item: BenchItem, response: ChatResponse) -> None:
        gen = Generated(response.text, response.finish_reason, response.prompt_tokens, response.completion_tokens)
        save(item, gen)

    outcome = await run_bounded(
        pending,
        work,
        on_result,
        concurrency=settings.concurrency,
        max_consecutive_failures=settings.max_consecutive_failures,
        on_progress=advance,
    )
    summary.failed.extend((item.id, why) for item, why in outcome.failed)
    summary.not_started = outcome.not_started
    summary.aborted = outcome.aborted
