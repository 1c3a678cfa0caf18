"""Academic benchmark scores: multiple choice, exact match and containment, per language, in any script.

- ``choice`` (CVQA, xMMMU, Kaleidoscope): the option ``extract_choice`` reads from the answer must be the gold
  one. An answer it cannot read is *unparsed*: wrong by default, or — only if asked — replaced by a random
  option drawn with a seed fixed per item (the same draw in every run, whatever the order); either way it
  is counted per language in the scores.
- ``exact`` (MaXM): ``normalize_answer(prediction)`` equals the normalised form of one of the gold answers.
- ``contains`` (MTVQA, xMMMU's open questions): a normalised gold answer occurs in the normalised prediction.
- any metric a plug-in registered with ``register_metric`` (e.g. the shapes world's ``world-answer``).

``score_academic`` writes ``scores.json`` (``kind: "academic"``, per-language ``n``, ``correct``,
``accuracy``, ``unparsed``, ``randomised``; the micro and macro averages) and ``scored.jsonl`` (one line per
item: ``id``, ``language``, ``correct``, ``how`` the answer was read, ``choice``) to the output folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ayavision.errors import ConfigError, InputError
from ayavision.evaluate.answers import Answers, AnswersError, check_covers
from ayavision.evaluate.choices import LETTERS, extract_choice
from ayavision.evaluate.items import BenchItem
from ayavision.evaluate.normalize import normalize_answer
from ayavision.evaluate.settings import ScoreSettings
from ayavision.utils.fs import atomic_file, atomic_write_text
from ayavision.utils.registry import Registry

SCORES = "scores.json"
SCORED = "scored.jsonl"


@dataclass(frozen=True)
class ItemScore:
    correct: bool
    how: str  # for choice: the extraction rule, "random" or "unparsed"; else the metric
    choice: int | None = None


def exact_match(prediction: str, answers: tuple[str, ...] | list[str]) -> bool:
    pred = normalize_answer(prediction)
    return any(pred == normalize_answer(answer) for answer in answers if normalize_answer(answer))


def contains_answer(prediction: str, answers: tuple[str, ...] | list[str]) -> bool:
    pred = normalize_answer(prediction)
    return any(gold in pred for gold in (normalize_answer(answer) for answer in answers) if gold)


# Metrics plug-ins register: name -> is this prediction right for this item?
MetricFunction = Callable[[str, BenchItem], bool]
METRICS: Registry[MetricFunction] = Registry("metric")
BUILT_IN_METRICS = ("choice", "exact", "contains")  # scored by score_item itself: no plug-in may take their names


def register_metric(name: str) -> Callable[[MetricFunction], MetricFunction]:
    if name in BUILT_IN_METRICS:
        raise ConfigError(f"{name!r} is a built-in metric")
    return METRICS.register(name)


def _seeded_option(item_id: str, options: int, seed: int) -> int:
    # Seeded by the item, not by a shared stream: the draw does not depend on which other items were scored.
    digest = int.from_bytes(hashlib.sha256(item_id.encode("utf-8")).digest()[:8], "big")
    return int(np.random.default_rng([seed, digest]).integers(options))


def score_item(item: BenchItem, prediction: str, settings: ScoreSettings | None = None) -> ItemScore:
    """Score one prediction against one item's gold answer."""
    settings = settings or ScoreSettings()
    if item.metric == "choice":
        found = extract_choice(prediction, item.choices)
        if found is not None:
            return ItemScore(found.index == item.answer_index, found.how, found.index)
        if settings.unparsed == "random":
            pick = _seeded_option(item.id, len(item.choices), settings.seed)
            return ItemScore(pick == item.answer_index, "random", pick)
        return ItemScore(False, "unparsed")
    if item.metric == "exact":
        return ItemScore(exact_match(prediction, item.answers), "exact")
    if item.metric == "contains":
        return ItemScore(contains_answer(prediction, item.answers), "contains")
    if item.metric in METRICS:
        return ItemScore(METRICS.get(item.metric)(prediction, item), item.metric)
    raise ValueError(f"item {item.id} of {item.bench} has no academic metric (is it a pairwise benchmark?)")


def _language_entry(scores: list[ItemScore]) -> dict[str, Any]:
    correct = sum(score.correct for score in scores)
    return {
        "n": len(scores),
        "correct": correct,
        "accuracy": correct / len(scores),
        "unparsed": sum(score.how == "unparsed" for score in scores),
        "randomised": sum(score.how == "random" for score in scores),
    }


def score_academic(
    items: list[BenchItem],
    answers: Answers,
    out_dir: str | Path | None = None,
    settings: ScoreSettings | None = None,
) -> dict[str, Any]:
    """Score an answers file against the benchmark's items; every item must have an answer.

    Returns the scores (and writes ``scores.json`` and ``scored.jsonl`` when ``out_dir`` is given).
    """
    settings = settings or ScoreSettings()
    if not items:
        raise InputError("no items to score")
    if answers.bench is not None and answers.bench != items[0].bench:
        raise AnswersError(f"{answers.path} answers {answers.bench!r}, not {items[0].bench!r}")
    check_covers(answers, (item.id for item in items))
    per_language: dict[str, list[ItemScore]] = {}
    lines = []
    for item in items:
        score = score_item(item, answers.records[item.id]["answer"], settings)
        per_language.setdefault(item.language, []).append(score)
        choice = LETTERS[score.choice] if score.choice is not None else None
        lines.append(
            {"id": item.id, "language": item.language, "correct": score.correct, "how": score.how, "choice": choice}
        )
    languages = {lang: _language_entry(per_language[lang]) for lang in sorted(per_language)}
    all_scores = [score for scores in per_language.values() for score in scores]
    result = {
        "kind": "academic",
        "bench": items[0].bench,
        "name": answers.label(),
        "answers": str(answers.path),
        "model": answers.model,
        "settings": settings.model_dump(),
        "languages": languages,
        "overall": _language_entry(all_scores),
        "macro": {
            "accuracy": float(np.mean([entry["accuracy"] for entry in languages.values()])),
            "languages": len(languages),
        },
        "extra_answers": len(answers.records.keys() - {item.id for item in items}),
    }
    if out_dir is not None:
        out_dir = Path(out_dir)
        with atomic_file(out_dir / SCORED) as handle:
            handle.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        atomic_write_text(out_dir / SCORES, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result


@dataclass(frozen=True)
class LanguageScore:
    """One row of a ``score_academic`` result, typed: a language's items (or all items) and how they scored."""

    n: int
    correct: int
    accuracy: float
    unparsed: int
    randomised: int

    @classmethod
    def of(cls, entry: dict[str, Any]) -> LanguageScore:
        return cls(entry["n"], entry["correct"], entry["accuracy"], entry["unparsed"], entry["randomised"])


@dataclass(frozen=True)
class AccuracySummary:
    """The headline of a ``score_academic`` result, typed: what other modules read of it.

    The first three fields are also what the recipe's evaluation summary keeps per model (``entry`` /
    ``from_entry``); the rows come only from a full result (``of``).
    """

    accuracy: float  # over all items
    macro_accuracy: float  # the mean of the languages' accuracies
    per_language: dict[str, float]
    rows: dict[str, LanguageScore] = field(default_factory=dict)  # per language, sorted by code
    overall: LanguageScore | None = None  # all items

    @classmethod
    def of(cls, scores: dict[str, Any]) -> AccuracySummary:
        languages = sorted(scores["languages"].items())
        return cls(
            accuracy=scores["overall"]["accuracy"],
            macro_accuracy=scores["macro"]["accuracy"],
            per_language={lang: entry["accuracy"] for lang, entry in languages},
            rows={lang: LanguageScore.of(entry) for lang, entry in languages},
            overall=LanguageScore.of(scores["overall"]),
        )

    def entry(self) -> dict[str, Any]:
        """The headline as the recipe's evaluation summary stores it per model."""
        return {"accuracy": self.accuracy, "macro_accuracy": self.macro_accuracy, "per_language": self.per_language}

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> AccuracySummary:
        return cls(entry["accuracy"], entry["macro_accuracy"], dict(entry["per_language"]))
