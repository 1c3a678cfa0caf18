"""Answers files: what a model answered to each item of a benchmark, one JSON line per item.

An answers file is the output of ``generate_answers`` and the input of ``judge_pairs`` and ``score_academic``.
It is append-only: each answer is written (and synced) as it arrives, so a killed run resumes where it stopped.
Every line is a JSON object with these keys:

====================  ==========================================================================================
``id``                the item's id, unique in the benchmark: ``<NLLB language>/<the benchmark's own id>``
``bench``             the benchmark's name (``aya-vision-bench``, ``m-arenahard``, ``cvqa`` ...)
``language``          the item's NLLB code (``fra_Latn``)
``prompt``            the text the model was asked (images are not stored; they stay in the benchmark data)
``answer``            the model's answer
``finish_reason``     ``"stop"``, ``"length"`` (the answer was cut at ``max_new_tokens``) or ``null``
``prompt_tokens``     prompt length in tokens, when known, else ``null``
``completion_tokens`` answer length in tokens, when known, else ``null``
``model``             who answered: ``{"kind": "local", "path": ..., "fingerprint": ...}`` for a model folder,
                      the backend's ``identity()`` for an endpoint (``{"backend": "openai", "model": ...,
                      "base_url": ...}``); never a secret
``generation``        the settings that determine the answer: ``max_new_tokens``, ``temperature`` (0 = greedy),
                      ``top_p``, ``seed``
``data``              the benchmark data path the items were read from (lets ``eval judge`` find the images)
====================  ==========================================================================================

All lines of one file share ``bench``, ``model`` and ``generation``: resuming with another model or other
settings is refused rather than mixed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ayavision.errors import AyaVisionError
from ayavision.jobs.journal import JsonLog

REQUIRED_KEYS = ("id", "bench", "language", "prompt", "answer", "model", "generation")


@dataclass(frozen=True)
class Generated:
    """One answer as a model or endpoint returned it."""

    text: str
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class AnswersError(AyaVisionError, ValueError):
    """An answers file that is malformed, mixes runs, or does not match what it is used with."""


@dataclass
class Answers:
    """The answers of one file, by item id."""

    path: Path
    records: dict[str, dict[str, Any]]
    repaired_tail: bool = False

    @property
    def bench(self) -> str | None:
        return next(iter(self.records.values()))["bench"] if self.records else None

    @property
    def model(self) -> dict[str, Any] | None:
        return next(iter(self.records.values()))["model"] if self.records else None

    @property
    def data(self) -> str | None:
        return next(iter(self.records.values())).get("data") if self.records else None

    def label(self) -> str:
        """A short name for reports: the endpoint's model name or the model folder's name."""
        model = self.model or {}
        name = model.get("model") or model.get("name") or Path(str(model.get("path", self.path.stem))).name
        return str(name)


def read_answers(path: str | Path, must_exist: bool = True) -> Answers:
    """Read and check an answers file: required keys, one bench/model/settings, no duplicate ids."""
    path = Path(path)
    if must_exist and not path.is_file():
        raise FileNotFoundError(f"{path}: answers file not found")
    log = JsonLog(path)
    records: dict[str, dict[str, Any]] = {}
    first: dict[str, Any] | None = None
    for number, record in enumerate(log.load(), start=1):
        missing = [key for key in REQUIRED_KEYS if key not in record]
        if missing:
            raise AnswersError(f"{path}: record {number}: missing {', '.join(missing)}")
        if not isinstance(record["answer"], str):
            raise AnswersError(f"{path}: record {number} ({record['id']}): 'answer' is not text")
        if first is None:
            first = record
        for key in ("bench", "model", "generation"):
            if record[key] != first[key]:
                raise AnswersError(
                    f"{path}: record {number} ({record['id']}): {key} {record[key]!r} differs from the first "
                    f"record's {first[key]!r}; one answers file holds one run"
                )
        if record["id"] in records:
            raise AnswersError(f"{path}: record {number}: duplicate item id {record['id']!r}")
        records[record["id"]] = record
    return Answers(path, records, log.repaired_tail)


def _sample(ids: Iterable[str], limit: int = 10) -> str:
    ids = sorted(ids)
    shown = ", ".join(ids[:limit])
    return shown + (f" ... ({len(ids) - limit} more)" if len(ids) > limit else "")


def check_same_items(a: Answers, b: Answers) -> None:
    """Both files answer the same benchmark's same items; otherwise say which items each one lacks."""
    if a.bench != b.bench:
        raise AnswersError(f"{a.path} answers {a.bench!r} but {b.path} answers {b.bench!r}")
    only_a = a.records.keys() - b.records.keys()
    only_b = b.records.keys() - a.records.keys()
    if only_a or only_b:
        parts = []
        if only_b:
            parts.append(f"{a.path} lacks {len(only_b)} item(s) that {b.path} has: {_sample(only_b)}")
        if only_a:
            parts.append(f"{b.path} lacks {len(only_a)} item(s) that {a.path} has: {_sample(only_a)}")
        raise AnswersError("the answers files do not cover the same items: " + "; ".join(parts))


def check_covers(answers: Answers, item_ids: Iterable[str]) -> None:
    """Every item of the benchmark has an answer; otherwise name the missing ones."""
    missing = set(item_ids) - answers.records.keys()
    if missing:
        raise AnswersError(f"{answers.path} lacks answers for {len(missing)} item(s): {_sample(missing)}")
