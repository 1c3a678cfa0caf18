"""The metrics step: per dataset, language and variant — tokens, words, MTLD, chrF, COMET — as JSON and markdown."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sacrebleu.metrics import CHRF

from ayavision.annotate.config import MetricsConfig
from ayavision.annotate.inputs import iter_items
from ayavision.annotate.metrics.comet_subprocess import comet_scores
from ayavision.annotate.metrics.mtld import mtld
from ayavision.annotate.metrics.text import TokenCounter, count_words
from ayavision.annotate.records import assistant_turns
from ayavision.data import ConversationRecord
from ayavision.utils.fs import atomic_write_text

ALL = "all"
VARIANT_NOTE = {
    "answers": "the dataset's assistant answers",
    "before": "what the step started from: the original short answers (recaption) or the machine translation"
    " (rephrase)",
}


@dataclass
class Sample:
    record_id: str
    text: str
    reference: str | None = None  # a human reference (meta.reference): chrF
    mt: str | None = None  # the machine translation a rephrase started from: chrF vs MT
    source: str | None = None  # the text it was translated from: COMET


def _references(record: ConversationRecord, turns: int) -> list[str | None]:
    ref = record.meta.get("reference")
    if isinstance(ref, str):
        return [ref] + [None] * (turns - 1)
    if isinstance(ref, list):
        return [r if isinstance(r, str) else None for r in ref] + [None] * (turns - len(ref))
    return [None] * turns


def samples_of(record: ConversationRecord) -> dict[str, list[Sample]]:
    """The record's answers, and what they were made from where its provenance says so."""
    turns = assistant_turns(record)
    references = _references(record, len(turns))
    translation = record.meta.get("translation") if isinstance(record.meta.get("translation"), dict) else {}
    parts = {part["at"][0]: part for part in translation.get("parts", []) if isinstance(part, dict) and "at" in part}
    originals = record.meta.get("original_answers")
    out: dict[str, list[Sample]] = defaultdict(list)
    for k, (m_index, _, text) in enumerate(turns):
        part = parts.get(m_index, {})
        rephrased = "rephrased" in part
        out["answers"].append(
            Sample(record.id, text, references[k], part.get("mt") if rephrased else None, part.get("source"))
        )
        if rephrased:
            out["before"].append(Sample(record.id, part["mt"], source=part.get("source")))
        elif not parts and isinstance(originals, list) and k < len(originals):
            # Only for untranslated records: a translation's original answers are in another language.
            out["before"].append(Sample(record.id, str(originals[k])))
    return out


def collect(path: str | Path) -> tuple[dict[tuple[str, str], list[Sample]], int]:
    """Samples by (variant, language) over a dataset, plus how many records were invalid and skipped."""
    groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    invalid = 0
    for item in iter_items(path):
        if item.record is None:
            invalid += 1
            continue
        for variant, samples in samples_of(item.record).items():
            groups[(variant, item.record.language)] += samples
            groups[(variant, ALL)] += samples
    return groups, invalid


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def _chrf(pairs: list[tuple[str, str]]) -> float | None:
    if not pairs:
        return None
    hypotheses, references = zip(*pairs, strict=True)
    return round(CHRF().corpus_score(list(hypotheses), [list(references)]).score, 2)


def compute_metrics(datasets: dict[str, Path], config: MetricsConfig | None = None) -> dict[str, Any]:
    """Rows of measures for each named dataset; ``datasets`` keeps the order the steps ran in."""
    config = config or MetricsConfig()
    counter = TokenCounter(config.tokenizer)
    rows: list[dict[str, Any]] = []
    comet_jobs: list[tuple[dict[str, Any], list[Sample]]] = []
    invalid_total = {}
    for name, path in datasets.items():
        groups, invalid_total[name] = collect(path)
        languages = [*sorted({lang for _, lang in groups if lang != ALL}), ALL]
        for variant in ("before", "answers"):
            for language in languages:
                samples = groups.get((variant, language))
                if not samples or (language == ALL and len(languages) == 2):
                    continue  # an 'all' row equal to the single language's row says nothing new
                row = {
                    "dataset": name,
                    "variant": variant,
                    "language": language,
                    "records": len({s.record_id for s in samples}),
                    "answers": len(samples),
                    "tokens": _mean([counter.count(s.text) for s in samples]),
                    "words": _mean([count_words(s.text) for s in samples]),
                    "mtld": _mean([mtld(s.text, config.mtld_threshold) for s in samples]),
                    "chrf": _chrf([(s.text, s.reference) for s in samples if s.reference]),
                    "chrf_vs_mt": _chrf([(s.text, s.mt) for s in samples if s.mt]),
                    "comet": None,
                }
                rows.append(row)
                if config.comet is not None and any(s.source for s in samples):
                    comet_jobs.append((row, [s for s in samples if s.source]))
    if config.comet is not None and comet_jobs:
        pairs = [{"src": s.source or "", "mt": s.text} for _, samples in comet_jobs for s in samples]
        scores = iter(comet_scores(pairs, config.comet))
        for row, samples in comet_jobs:
            row["comet"] = round(statistics.fmean(next(scores) for _ in samples), 4)
    return {
        "tokenizer": counter.name,
        "mtld_threshold": config.mtld_threshold,
        "comet_model": config.comet.model if config.comet else None,
        "invalid_records_skipped": invalid_total,
        "rows": rows,
    }


def _cell(value: Any) -> str:
    return "–" if value is None else str(value)


def to_markdown(result: dict[str, Any]) -> str:
    head = ["step", "language", "records", "answers", "tokens/answer", "words/answer", "MTLD", "chrF", "chrF vs MT"]
    keys = ["records", "answers", "tokens", "words", "mtld", "chrf", "chrf_vs_mt"]
    if result.get("comet_model"):
        head.append("COMET")
        keys.append("comet")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in result["rows"]:
        label = row["dataset"] + (" (before)" if row["variant"] == "before" else "")
        lines.append("| " + " | ".join([label, row["language"], *(_cell(row[k]) for k in keys)]) + " |")
    notes = [
        "",
        f"- tokens: counted with `{result['tokenizer']}`; words: whitespace words (CJK segmented);"
        f" MTLD: threshold {result['mtld_threshold']}, mean over answers.",
        "- (before): " + VARIANT_NOTE["before"] + ".",
        "- chrF: against `meta.reference` where records carry one; chrF vs MT: a rephrase against the translation"
        " it post-edited (100 = unchanged).",
    ]
    if result.get("comet_model"):
        notes.append(f"- COMET: `{result['comet_model']}` on (source, answer) pairs, mean.")
    return "\n".join(lines + notes) + "\n"


def run_metrics(datasets: dict[str, Path], out_dir: str | Path, config: MetricsConfig | None = None) -> dict[str, Any]:
    """Compute and write ``metrics.json`` and ``metrics.md`` under ``out_dir`` (atomically)."""
    result = compute_metrics(datasets, config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "metrics.json", json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(out / "metrics.md", to_markdown(result))
    return result
