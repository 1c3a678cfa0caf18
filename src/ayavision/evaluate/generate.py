"""Answer a benchmark with a local model folder or any backend, cached per item in an answers file.

``generate_answers(items, out, model=LocalModel(...) | backend=Backend)`` appends one line per answered item
to ``out`` (the format is documented in ``ayavision.evaluate.answers``), through the shared job engine
(``ayavision.jobs``) and its request cache. Items already in ``out`` are skipped,
so a killed or failed run resumes where it stopped; answers from another model or other settings in the same
file are refused. Items that fail (the endpoint gave up, an image is unreadable) are not written, are
counted, and raise ``GenerationIncomplete`` at the end, after every other item has been answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ayavision.backends.base import Backend
from ayavision.backends.spec import BackendSpec
from ayavision.errors import AyaVisionError, ConfigError, InputError
from ayavision.evaluate.answers import AnswersError, Generated, read_answers
from ayavision.evaluate.items import BenchItem
from ayavision.evaluate.jobs import EvalRun, EvalSpec, GenerateTask, eval_backend, run_eval_job
from ayavision.evaluate.local_model import LocalModel
from ayavision.evaluate.settings import GenerationSettings
from ayavision.jobs import ExecutorConfig, JsonLog

DEFAULT_CACHE: Any = object()  # generate_answers' cache_dir default: OUT.cache next to the answers file


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
    backend: Backend | BackendSpec | None = None,
    settings: GenerationSettings | None = None,
    data: str | Path | None = None,
    progress: bool = True,
    cache_dir: str | Path | None = DEFAULT_CACHE,
    executor: ExecutorConfig | None = None,
    plugins: list[str] | None = None,
) -> GenerateSummary:
    """Answer every item not yet in ``out`` with ``model`` (batched) or ``backend`` (concurrent requests).

    Both go through the job engine and the backend interface (a local model through the ``transformers``
    backend). ``data`` is the benchmark path, recorded so that ``eval judge`` can find the items' images later.
    Answers that arrive are kept in the request cache (``cache_dir``; by default ``OUT.cache`` next to ``out``;
    ``None`` keeps none). Raises ``GenerationIncomplete`` if some items failed; the answers of the others are kept.
    """
    if (model is None) == (backend is None):
        raise ConfigError("give exactly one of a local model or a backend")
    settings = settings or GenerationSettings()
    _check_items(items)
    out = Path(out)
    data_text = str(Path(data).resolve()) if data is not None else None
    summary = GenerateSummary(out=out, total=len(items))
    if model is not None:
        backend = model.backend(settings.batch_size)
    with eval_backend(backend, plugins) as (built, backend_spec):  # type: ignore[arg-type]
        identity = model.identity() if model is not None else built.identity()
        identity = json.loads(json.dumps(identity))  # as it reads back from the file (tuples become lists)
        pending = _pending(items, out, identity, settings, summary)
        by_id = {item.id: item for item in pending}

        def record(entry: dict[str, Any]) -> dict[str, Any]:
            gen = Generated(**entry["answer"])
            summary.written += 1
            summary.truncated += gen.finish_reason == "length"
            return _record(by_id[entry["key"]], gen, identity, settings, data_text)

        # An endpoint gets its concurrency; a local model the executor's default, which keeps its batches full.
        in_flight = None if model is not None else settings.concurrency
        spec = EvalSpec(GenerateTask(settings), backend_spec, list(plugins or []))
        run = EvalRun(built, _cache_dir(out, cache_dir), settings.max_consecutive_failures, in_flight,
                      f"answering {items[0].bench}", progress, executor)  # fmt: skip
        outcome = run_eval_job(spec, pending, JsonLog(out), record, run)
    summary.failed.extend(outcome.failed)
    summary.not_started = outcome.not_started
    summary.aborted = outcome.aborted
    if not summary.complete:
        raise GenerationIncomplete(summary)
    return summary


def _cache_dir(out: Path, cache_dir: str | Path | None) -> Path | None:
    if cache_dir is DEFAULT_CACHE:
        return out.with_name(out.name + ".cache")
    return Path(cache_dir) if cache_dir is not None else None
