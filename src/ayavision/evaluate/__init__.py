"""Evaluation the Aya Vision way: answers, pairwise LLM-judge win rates, academic accuracy, and a report.

The recipe runner calls these directly (the CLI ``ayavision eval ...`` is a thin layer over them)::

    loaded = load_benchmark("aya-vision-bench", "data/AyaVisionBench")            # local files only
    generate_answers(loaded.items, "eval/ours.jsonl", model=LocalModel("runs/x/merge/alpha-0.4"),
                     data=loaded.path)                                             # or backend=create_backend(...)
    judge_pairs("eval/ours.jsonl", "eval/baseline.jsonl", judge_backend, "eval/ours-vs-baseline",
                items=loaded.by_id())                                              # -> results.json
    score_academic(cvqa.items, read_answers("eval/cvqa.jsonl"), "eval/cvqa")       # -> scores.json
    write_report(["eval/ours-vs-baseline", "eval/cvqa"], "report/")                # -> report.md + PNGs

Answering and judging are jobs of the shared engine (``ayavision.jobs``, ``ayavision.evaluate.jobs``): every
request goes through a ``Backend`` (a local model through the ``transformers`` backend) and its request cache, and a
killed run resumes without redoing a finished request.

File formats: answers files in ``ayavision.evaluate.answers``; ``judgments.jsonl`` and ``results.json`` in
``ayavision.evaluate.judge`` (statistics in ``ayavision.evaluate.winrate``); ``scores.json`` and
``scored.jsonl`` in ``ayavision.evaluate.metrics``.
"""

from ayavision.evaluate.answers import Answers, AnswersError, check_covers, check_same_items, read_answers
from ayavision.evaluate.benchmarks import (
    BENCHMARKS,
    Benchmark,
    LoadedBenchmark,
    UnknownBenchmarkError,
    get_benchmark,
    load_benchmark,
)
from ayavision.evaluate.choices import extract_choice, format_choice_prompt
from ayavision.evaluate.generate import GenerateSummary, GenerationIncomplete, generate_answers
from ayavision.evaluate.items import BenchItem, ImageRef
from ayavision.evaluate.judge import JudgeIncomplete, judge_pairs
from ayavision.evaluate.metrics import contains_answer, exact_match, register_metric, score_academic, score_item
from ayavision.evaluate.normalize import normalize_answer
from ayavision.evaluate.report import write_report
from ayavision.evaluate.settings import GenerationSettings, JudgeSettings, ScoreSettings, load_settings
from ayavision.evaluate.sources import BenchmarkDataError
from ayavision.evaluate.verdicts import JudgePrompt, parse_verdict
from ayavision.evaluate.winrate import PairVerdicts, summarise

__all__ = [
    "BENCHMARKS",
    "Answers",
    "AnswersError",
    "BenchItem",
    "Benchmark",
    "BenchmarkDataError",
    "GenerateSummary",
    "GenerationIncomplete",
    "GenerationSettings",
    "ImageRef",
    "JudgeIncomplete",
    "JudgePrompt",
    "JudgeSettings",
    "LoadedBenchmark",
    "PairVerdicts",
    "ScoreSettings",
    "UnknownBenchmarkError",
    "check_covers",
    "check_same_items",
    "contains_answer",
    "exact_match",
    "extract_choice",
    "format_choice_prompt",
    "generate_answers",
    "get_benchmark",
    "judge_pairs",
    "load_benchmark",
    "load_settings",
    "normalize_answer",
    "parse_verdict",
    "read_answers",
    "register_metric",
    "score_academic",
    "score_item",
    "summarise",
    "write_report",
]
