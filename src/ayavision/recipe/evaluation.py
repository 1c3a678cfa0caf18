"""The recipe's evaluation stage: every merge of the sweep (and the text LLM on text-only items), scored and judged."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ayavision.recipe.artifacts import MergeArtifact
from ayavision.recipe.config import BenchSpec, RecipeConfig

if TYPE_CHECKING:  # imported where used: the evaluation code (numpy, ...) loads only when a run evaluates
    from ayavision.evaluate.metrics import AccuracySummary

TEXT_LLM = "text-llm"
SUMMARY = "summary.json"


def evaluate_recipe(recipe: RecipeConfig, merge: MergeArtifact, out: Path) -> dict[str, Any]:
    """Every merged model of the merge stage's artifact (alpha-<a> -> folder; alpha-1.0 is the unmerged VLM) on
    every benchmark; ``recipe``'s references already resolved."""
    section = recipe.evaluate
    summary: dict[str, Any] = {"academic": {}, "pairwise": {}}
    models = dict(merge.models)
    for bench in section.benches:
        if bench.kind == "academic":
            summary["academic"][bench.name] = _academic(recipe, bench, models, out / bench.name, merge.text_llm)
        else:
            summary["pairwise"][bench.name] = _pairwise(recipe, bench, models, out / bench.name)
    (out / SUMMARY).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def _answers(items, folder: Path, out: Path, recipe: RecipeConfig, data: Path) -> Path:
    from ayavision.evaluate import generate_answers
    from ayavision.evaluate.local_model import LocalModel

    path = out / "answers.jsonl"
    out.mkdir(parents=True, exist_ok=True)
    generate_answers(
        items, path, model=LocalModel(folder), settings=recipe.evaluate.generation, data=data, progress=False
    )
    return path


def _academic(
    recipe: RecipeConfig, bench: BenchSpec, models: dict[str, Path], out: Path, text_llm: Path
) -> dict[str, Any]:
    from ayavision.evaluate import load_benchmark, read_answers, score_academic
    from ayavision.evaluate.metrics import AccuracySummary

    loaded = load_benchmark(bench.name, bench.path, languages=bench.languages)
    text_only = not any(item.has_images for item in loaded.items)
    candidates = dict(models)
    if text_only:
        candidates[TEXT_LLM] = text_llm
    result: dict[str, Any] = {}
    for name, folder in candidates.items():
        answers = _answers(loaded.items, folder, out / name, recipe, bench.path)
        scores = score_academic(loaded.items, read_answers(answers), out / name, recipe.evaluate.scoring)
        result[name] = AccuracySummary.of(scores).entry()
    return result


def _pairwise(recipe: RecipeConfig, bench: BenchSpec, models: dict[str, Path], out: Path) -> dict[str, Any]:
    """The shipped merge against the unmerged model, judged in both orders."""
    from ayavision.backends import create_backend
    from ayavision.evaluate import judge_pairs, load_benchmark
    from ayavision.evaluate.winrate import WinRateSummary
    from ayavision.merge import alpha_folder_name

    loaded = load_benchmark(bench.name, bench.path, languages=bench.languages)
    merged, unmerged = alpha_folder_name(recipe.merge.alpha), alpha_folder_name(1.0)
    a = _answers(loaded.items, models[merged], out / merged, recipe, bench.path)
    b = _answers(loaded.items, models[unmerged], out / unmerged, recipe, bench.path)
    judge = recipe.evaluate.judge
    assert judge is not None
    backend = create_backend(judge.kind, **judge.options)
    results = judge_pairs(
        a,
        b,
        backend,
        out / f"{merged}-vs-{unmerged}",
        items=loaded.by_id(),
        settings=recipe.evaluate.judging,
        progress=False,
    )
    summary = WinRateSummary.of(results)
    path = out / f"{merged}-vs-{unmerged}" / "results.json"
    return PairwiseEntry(merged, unmerged, path, summary.win_rate, summary.ci, summary.position_consistency).entry()


@dataclass(frozen=True)
class PairwiseEntry:
    """A pairwise benchmark in the evaluation summary, typed: the shipped merge (a) against the unmerged VLM (b)."""

    a: str
    b: str
    results: Path  # the judge's results.json (``WinRateSummary.of`` reads it)
    win_rate: float | None  # macro average over languages
    ci: tuple[float, float] | None
    position_consistency: float | None

    def entry(self) -> dict[str, Any]:
        return {
            "a": self.a, "b": self.b, "results": str(self.results), "macro_win_rate": self.win_rate,
            "macro_ci": list(self.ci) if self.ci else None, "position_consistency": self.position_consistency,
        }  # fmt: skip

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> PairwiseEntry:
        ci = entry.get("macro_ci")
        return cls(entry["a"], entry["b"], Path(entry["results"]), entry.get("macro_win_rate"),
                   tuple(ci) if ci else None, entry.get("position_consistency"))  # type: ignore[arg-type]  # fmt: skip


@dataclass(frozen=True)
class EvaluationSummary:
    """The evaluation stage's ``summary.json``, typed: what the run report, plug-ins and sweeps read of it."""

    academic: dict[str, dict[str, AccuracySummary]] = field(default_factory=dict)  # bench -> model -> headline
    pairwise: dict[str, PairwiseEntry] = field(default_factory=dict)  # bench -> the judged pair

    @classmethod
    def read(cls, path: Path | None) -> EvaluationSummary:
        """The summary at ``path``; an empty one when there is none (no evaluation stage, or not run yet)."""
        from ayavision.evaluate.metrics import AccuracySummary

        if path is None or not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        academic = {
            bench: {model: AccuracySummary.from_entry(entry) for model, entry in per_model.items()}
            for bench, per_model in (data.get("academic") or {}).items()
        }
        pairwise = {bench: PairwiseEntry.from_entry(entry) for bench, entry in (data.get("pairwise") or {}).items()}
        return cls(academic, pairwise)
