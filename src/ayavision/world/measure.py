"""Measure the annotation pipeline on the world, where the truth is known: filter precision/recall, chrF."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ayavision.data import ConversationRecord, read_records
from ayavision.errors import InputError
from ayavision.world.teacher import corrupts
from ayavision.world.translate import corpus_chrf, natural_translate


def _records(source: str | Path | Iterable[ConversationRecord]) -> list[ConversationRecord]:
    return list(read_records(source)) if isinstance(source, str | Path) else list(source)


def was_corrupted(record: ConversationRecord, seed: int | None = None, rate: float | None = None) -> bool:
    """Did the world teacher inject a hallucination into any turn of this recaptioned record? Recomputed.

    The teacher's seed and rate come from the record's ``meta.teacher`` (what the recaption step stores)
    unless given.
    """
    teacher = record.meta.get("teacher") or {}
    if seed is None:
        seed = int(teacher.get("seed", 0))
    if rate is None:
        rate = float(teacher.get("hallucination_rate", 0.0))
    scene_ids = record.meta.get("world", {}).get("scene_ids")
    if not scene_ids:
        raise InputError(f"record {record.id!r} has no meta.world.scene_ids: not a shapes-world record")
    # The teacher draws for each turn it recaptions; a record is corrupted when any of its answers is.
    asked = [message.text() for message in record.messages if message.role == "user"]
    return any(corrupts(seed, rate, list(scene_ids), instruction) for instruction in asked)


def filter_quality(
    recaptioned: str | Path | Iterable[ConversationRecord],
    kept: str | Path | Iterable[ConversationRecord],
    *,
    seed: int | None = None,
    rate: float | None = None,
) -> dict[str, Any]:
    """Precision and recall of the filter at catching the teacher's injected hallucinations.

    ``recaptioned``: the recaption step's output; ``kept``: the filter step's output. A record the filter
    dropped (for any reason) counts as flagged.
    """
    before = _records(recaptioned)
    kept_ids = {record.id for record in _records(kept)}
    corrupted = {r.id for r in before if was_corrupted(r, seed, rate)}
    flagged = {r.id for r in before if r.id not in kept_ids}
    caught = corrupted & flagged
    return {
        "records": len(before),
        "corrupted": len(corrupted),
        "injection_rate": len(corrupted) / len(before) if before else 0.0,
        "flagged": len(flagged),
        "caught": len(caught),
        "precision": len(caught) / len(flagged) if flagged else None,
        "recall": len(caught) / len(corrupted) if corrupted else None,
    }


def translation_quality(rephrased: str | Path | Iterable[ConversationRecord]) -> dict[str, Any]:
    """chrF of the machine translation and of its rephrasing against the natural sentences, per language.

    Reads ``meta.translation.parts`` (``source``, ``mt``, ``rephrased``) as the translate and rephrase steps
    store them; the reference is the natural rendering of the source in the target language.
    """
    pairs: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: {"mt": [], "rephrased": []})
    for record in _records(rephrased):
        info = record.meta.get("translation") or {}
        target, source_language = info.get("target_language", record.language), info.get("source_language", "eng_Latn")
        for part in info.get("parts", []):
            reference = natural_translate(part["source"], target, source_language)[0]
            pairs[target]["mt"].append((part["mt"], reference))
            if "rephrased" in part:
                pairs[target]["rephrased"].append((part["rephrased"], reference))
    by_language = {
        lang: {
            "texts": len(p["mt"]),
            "chrf_mt": corpus_chrf(p["mt"]),
            "chrf_rephrased": corpus_chrf(p["rephrased"]) if p["rephrased"] else None,
        }
        for lang, p in sorted(pairs.items())
    }
    everything = {key: [pair for p in pairs.values() for pair in p[key]] for key in ("mt", "rephrased")}
    return {
        "texts": len(everything["mt"]),
        "chrf_mt": corpus_chrf(everything["mt"]) if everything["mt"] else None,
        "chrf_rephrased": corpus_chrf(everything["rephrased"]) if everything["rephrased"] else None,
        "by_language": by_language,
    }


def guess_accuracy(dataset: str | Path | Iterable[ConversationRecord]) -> float:
    """Expected accuracy of a uniform guess among the answers each question's kind allows (yes/no: 1/2, counts
    0-5: 1/6, colours: 1/6, ...): the floor a model must beat to show it reads the images."""
    odds = [odd for record in _records(dataset) if (odd := record_guess_odds(record)) is not None]
    return sum(odds) / len(odds) if odds else 0.0


def record_guess_odds(record: ConversationRecord) -> float | None:
    """The chance that a uniform guess answers this record's question (read in its language); None if free-form."""
    from ayavision.world.frames import FRAMES
    from ayavision.world.oracle import read_text

    read = read_text(record.user_prompt_text(), [record.language])
    asked = read.question() if read else None
    return guess_odds(FRAMES[asked.frame].answer if asked is not None and asked.frame else None)


def guess_odds(kind: str | None) -> float | None:
    """The chance that a uniform guess answers a question of this answer kind; None for free-form kinds."""
    from ayavision.world.texttask import _CHOICES

    choices = {"yesno": 2, "number": 6, **_CHOICES}
    return 1 / choices[kind] if kind in choices else None
