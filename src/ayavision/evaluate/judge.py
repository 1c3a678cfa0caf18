"""Pairwise judging of two answers files with any backend, cached per game and resumable.

``judge_pairs(a, b, backend, out_dir, items=...)`` judges every item twice (a's answer first, then b's) and
writes to ``out_dir``:

- ``judgments.jsonl`` — the cache, append-only, one line per game: ``key`` (hash of what determines the
  judgment: the judge's identity and the request's fingerprint — prompt wording, question, reference, images
  by content, the two answers in slot order, max tokens and temperature), ``id``, ``bench``, ``language``,
  ``game`` (1: a's answer in slot A; 2: b's), ``a_in_slot_a``, ``verdict`` (``"A>>B"`` ... ``"B>>A"``, or
  ``null`` when neither the reply nor the one re-ask held a readable label), ``replies`` (the judge's raw
  replies), ``judge``, ``template``.
- ``results.json`` — written atomically after every run, complete or not: the ``winrate.summarise`` result
  (per-language wins/ties/losses, win rate and interval, macro average, position consistency) plus
  ``kind: "pairwise"``, ``bench``, ``a``/``b`` (label, answers path, model identity), ``judge``,
  ``settings``, ``unjudged`` (pairs with a game still to judge) and ``complete``.

A game whose request fails is not cached; once all others are done, ``JudgeIncomplete`` is raised and a rerun
judges only what is missing. Failed and unreadable games keep their pair out of the win rate, and both are
counted in the results.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from ayavision.backends.base import Backend
from ayavision.backends.spec import BackendSpec
from ayavision.errors import AyaVisionError, ConfigError
from ayavision.evaluate.answers import Answers, AnswersError, check_same_items, read_answers
from ayavision.evaluate.benchmarks import get_benchmark
from ayavision.evaluate.items import BenchItem
from ayavision.evaluate.jobs import EvalRun, EvalSpec, Game, JudgeTask, eval_backend, run_eval_job
from ayavision.evaluate.settings import JudgeSettings
from ayavision.evaluate.verdicts import JudgePrompt
from ayavision.evaluate.winrate import PairVerdicts, summarise
from ayavision.jobs import ExecutorConfig, JsonLog
from ayavision.utils.fs import atomic_write_text

JUDGMENTS = "judgments.jsonl"
CACHE = "cache"  # the request cache: every reply that arrived, so a killed run asks no finished request again
RESULTS = "results.json"


class JudgeIncomplete(AyaVisionError, RuntimeError):
    """Some games could not be judged; results so far are saved and a rerun judges only the rest."""


def _game_key(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _build_games(
    a: Answers,
    b: Answers,
    items: dict[str, BenchItem] | None,
    backend: Backend,
    prompt: JudgePrompt,
    settings: JudgeSettings,
) -> list[Game]:
    games = []
    identity = backend.identity()
    task = JudgeTask(prompt, settings)
    for item_id in sorted(a.records):
        rec_a, rec_b = a.records[item_id], b.records[item_id]
        item = items[item_id] if items is not None else None
        question = item.question if item is not None else rec_a["prompt"]
        reference = item.reference if item is not None else None
        refs = item.images if item is not None else ()
        images = [ref.read_bytes() for ref in refs]
        for number, (first, second) in ((1, (rec_a, rec_b)), (2, (rec_b, rec_a))):
            messages = prompt.messages(question, first["answer"], second["answer"], images, reference)
            # The request's fingerprint covers the prompt wording, the answers in slot order, the images (by
            # content) and the settings; with the judge's identity that is all that determines a judgment.
            key = _game_key({"judge": identity, "request": task.request(messages).fingerprint()})
            games.append(Game(item_id, rec_a["language"], number, key, messages))
    return games


def _check_inputs(a: Answers, b: Answers, items: dict[str, BenchItem] | None) -> None:
    if not a.records:
        raise AnswersError(f"{a.path} holds no answers")
    check_same_items(a, b)
    bench = get_benchmark(a.bench or "")
    if items is None and bench.has_images:
        raise ConfigError(
            f"{bench.name} items have images the judge must see: give the benchmark data (--data PATH); the "
            f"answers record none that exists ({a.data})"
        )
    if items is not None:
        unknown = a.records.keys() - items.keys()
        if unknown:
            sample = ", ".join(sorted(unknown)[:10])
            raise AnswersError(f"{len(unknown)} answered item(s) are not in the benchmark data: {sample}")


def judge_pairs(
    a: Answers | str | Path,
    b: Answers | str | Path,
    backend: Backend | BackendSpec,
    out_dir: str | Path,
    *,
    items: dict[str, BenchItem] | None = None,
    settings: JudgeSettings | None = None,
    prompt: JudgePrompt | None = None,
    progress: bool = True,
    executor: ExecutorConfig | None = None,
    plugins: list[str] | None = None,
) -> dict[str, Any]:
    """Judge system a against system b on every item both answered; return (and save) the results.

    ``items`` (id -> BenchItem, from ``load_benchmark``) supplies the images and reference answers; it may
    be omitted only for text-only benchmarks. ``backend`` is a built backend, or a spec (which the Ray executor
    needs: each worker builds its own). Raises ``JudgeIncomplete`` after saving partial results.
    """
    with eval_backend(backend, plugins) as (built, spec):
        return _judge(a, b, built, spec, Path(out_dir), items, settings, prompt, progress, executor, plugins)


def _judge(
    a: Answers | str | Path,
    b: Answers | str | Path,
    backend: Backend,
    backend_spec: BackendSpec | None,
    out_dir: Path,
    items: dict[str, BenchItem] | None,
    settings: JudgeSettings | None,
    prompt: JudgePrompt | None,
    progress: bool,
    executor: ExecutorConfig | None,
    plugins: list[str] | None,
) -> dict[str, Any]:
    a = a if isinstance(a, Answers) else read_answers(a)
    b = b if isinstance(b, Answers) else read_answers(b)
    settings = settings or JudgeSettings()
    prompt = prompt or JudgePrompt.load()
    _check_inputs(a, b, items)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = JsonLog(out_dir / JUDGMENTS)
    cache = {record["key"]: record for record in log.load() if "key" in record}
    games = _build_games(a, b, items, backend, prompt, settings)
    pending = [game for game in games if game.key not in cache]
    by_key = {game.key: game for game in pending}
    identity = backend.identity()

    def record(entry: dict[str, Any]) -> dict[str, Any]:
        game = by_key[entry["key"]]
        record = {
            "key": game.key,
            "id": game.item_id,
            "bench": a.bench,
            "language": game.language,
            "game": game.number,
            "a_in_slot_a": game.number == 1,
            "judge": identity,
            "template": prompt.sha,
            "verdict": entry["verdict"],
            "replies": entry["replies"],
        }
        cache[game.key] = record
        return record

    spec = EvalSpec(JudgeTask(prompt, settings), backend_spec, list(plugins or []))
    run = EvalRun(backend, out_dir / CACHE, settings.max_consecutive_failures, settings.concurrency,
                  f"judging {a.bench}", progress, executor)  # fmt: skip
    outcome = run_eval_job(spec, pending, log, record, run)
    results = _results(a, b, games, cache, backend, settings, prompt)
    results["complete"] = not outcome.failed and not outcome.not_started
    results["failed_requests"] = len(outcome.failed)
    atomic_write_text(out_dir / RESULTS, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    if not results["complete"]:
        reason = outcome.aborted or (outcome.failed[0][1] if outcome.failed else "")
        raise JudgeIncomplete(
            f"{len(outcome.failed) + outcome.not_started} of {len(games)} game(s) not judged ({reason}); "
            f"{results['unjudged']} pair(s) left out of the results in {out_dir}; run again to judge the rest"
        )
    return results


def _results(
    a: Answers,
    b: Answers,
    games: list[Game],
    cache: dict[str, dict[str, Any]],
    backend: Backend,
    settings: JudgeSettings,
    prompt: JudgePrompt,
) -> dict[str, Any]:
    by_item: dict[str, dict[int, Game]] = {}
    for game in games:
        by_item.setdefault(game.item_id, {})[game.number] = game
    pairs, unjudged = [], Counter()
    for item_id, pair in by_item.items():
        if any(pair[n].key not in cache for n in (1, 2)):
            unjudged[pair[1].language] += 1
            continue
        verdicts = (cache[pair[1].key]["verdict"], cache[pair[2].key]["verdict"])
        pairs.append(PairVerdicts(item_id, pair[1].language, *verdicts))
    results = summarise(
        pairs,
        strong_weight=settings.strong_weight,
        bootstrap_samples=settings.bootstrap_samples,
        confidence=settings.confidence,
        seed=settings.seed,
    )
    for language, count in unjudged.items():
        results["languages"].setdefault(language, {"pairs": 0, "scored": 0, "missing": 0, "win_rate": None})
        results["languages"][language]["unjudged"] = count
    label_a, label_b = a.label(), b.label()
    if label_a == label_b:  # one model under two settings: the files' names tell the systems apart
        label_a, label_b = a.path.stem, b.path.stem
    return {
        "kind": "pairwise",
        "bench": a.bench,
        "name": f"{label_a} vs {label_b}",
        "a": {"label": label_a, "answers": str(a.path), "model": a.model},
        "b": {"label": label_b, "answers": str(b.path), "model": b.model},
        "judge": backend.identity(),
        "template": prompt.sha,
        "settings": settings.model_dump(),
        "unjudged": sum(unjudged.values()),
        **results,
    }
