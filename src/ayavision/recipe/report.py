"""The run's report: data statistics, filter quality, training curves, the alpha sweep and win rates."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on training machines
import matplotlib.pyplot as plt

from ayavision.recipe.artifacts import AnnotateArtifact, EvaluateArtifact, Inputs
from ayavision.recipe.config import RecipeConfig
from ayavision.recipe.evaluation import TEXT_LLM, EvaluationSummary
from ayavision.train.metrics import step_time_summary
from ayavision.utils.fs import atomic_write_text
from ayavision.utils.registry import Registry

# Sections plug-ins add, e.g. the shapes world's filter precision/recall (it alone knows the injected errors).
# Each takes (recipe, the finished stages' artifacts, report folder, headline dict to add to) and returns markdown
# lines. Sections run before the sweep: a "<bench>_chance" headline entry is drawn in the sweep figure as that
# benchmark's guess level.
ReportSection = Callable[[RecipeConfig, Inputs, Path, dict[str, Any]], list[str]]
REPORT_SECTIONS: Registry[ReportSection] = Registry("report section")


def register_report_section(name: str) -> Callable[[ReportSection], ReportSection]:
    return REPORT_SECTIONS.register(name)


def _read_json(path: Path | None) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path is not None and path.exists() else None


def _read_jsonl(path: Path | None) -> list[dict]:
    if path is None or not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _alpha(name: str) -> float | None:
    match = re.fullmatch(r"alpha-([0-9.]+)", name)
    return float(match.group(1)) if match else None


def write_recipe_report(recipe: RecipeConfig, inputs: Inputs, out: Path) -> dict[str, Any]:
    """The report from the artifacts of the finished stages (``recipe``'s references resolved)."""
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# {recipe.name}: run report", ""]
    headline: dict[str, Any] = {}
    merged = inputs.merge.chosen if inputs.merge is not None else None
    lines += _data_section(inputs.annotate, out)
    lines += _plugin_sections(recipe, inputs, out, headline)
    lines += _training_section(inputs, out)
    lines += _sweep_section(recipe, inputs.evaluate, out, headline)
    lines += _winrate_section(inputs.evaluate, out, headline)
    lines += _samples_section(recipe, inputs.evaluate, merged)
    markdown = "\n".join(lines) + "\n"
    atomic_write_text(out / "report.md", markdown)
    atomic_write_text(out / "report.html", markdown_to_html(markdown, out, recipe.name))
    atomic_write_text(out / "headline.json", json.dumps(headline, indent=1))
    return headline


def _data_section(annotate: AnnotateArtifact | None, out: Path) -> list[str]:
    found = {} if annotate is None else annotate.metrics
    metrics_files = [path for _, path in sorted(found.items()) if path.exists()]
    if not metrics_files:
        return ["## Data", "", "No annotation stage in this recipe.", ""]
    lines = ["## Data before and after annotation", ""]
    metrics = _read_json(metrics_files[0])
    rows = metrics["rows"]
    recaption = [r for r in rows if r["dataset"] == "recaption" and r["language"] == "all"] or [
        r for r in rows if r["dataset"] == "recaption"
    ]
    before = next((r for r in recaption if r["variant"] == "before"), None)
    after = next((r for r in recaption if r["variant"] == "answers"), None)
    if before and after:
        figure, axes = plt.subplots(1, 3, figsize=(9, 3))
        for axis, key, title in zip(
            axes, ("tokens", "words", "mtld"), ("tokens / answer", "words / answer", "MTLD"), strict=True
        ):
            axis.bar(["original", "recaptioned"], [before[key] or 0, after[key] or 0], color=["#999", "#2a7"])
            axis.set_title(title)
        figure.tight_layout()
        figure.savefig(out / "data.png", dpi=110)
        plt.close(figure)
        lines += [
            f"Recaptioning: tokens per answer {before['tokens']} -> {after['tokens']}, words {before['words']} -> "
            f"{after['words']}, MTLD {before['mtld']} -> {after['mtld']} (the paper: 27.2 -> 140.8 tokens, "
            "MTLD 11.0 -> 61.2).",
            "",
            "![data](data.png)",
            "",
        ]
    lines += ["Per step and language:", "", (metrics_files[0].with_suffix(".md")).read_text(encoding="utf-8"), ""]
    return lines


def _plugin_sections(recipe: RecipeConfig, inputs: Inputs, out: Path, headline: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for section in REPORT_SECTIONS.values():
        lines += section(recipe, inputs, out, headline)
    return lines


def _training_section(inputs: Inputs, out: Path) -> list[str]:
    trained = {stage: inputs.train(stage) for stage in ("align", "sft")}
    curves = {stage: _read_jsonl(art.metrics if art is not None else None) for stage, art in trained.items()}
    if not any(curves.values()):
        return []
    figure, axes = plt.subplots(1, 2, figsize=(9, 3))
    for axis, (stage, rows) in zip(axes, curves.items(), strict=True):
        axis.plot([r["step"] for r in rows], [r["loss"] for r in rows])
        axis.set_title(f"{stage} loss")
        axis.set_xlabel("step")
    figure.tight_layout()
    figure.savefig(out / "loss.png", dpi=110)
    plt.close(figure)
    lines = ["## Training", "", "![loss](loss.png)", ""]
    for stage, rows in curves.items():
        if rows:
            line = f"- {stage}: {len(rows)} steps, loss {rows[0]['loss']:.3f} -> {rows[-1]['loss']:.3f}"
            times = step_time_summary(rows)
            if times is not None:
                line += f"; seconds per step p50 {times['p50']:.2f}, p95 {times['p95']:.2f}, max {times['max']:.2f}"
            lines.append(line)
    return [*lines, ""]


def _sweep_section(
    recipe: RecipeConfig, evaluate: EvaluateArtifact | None, out: Path, headline: dict[str, Any]
) -> list[str]:
    academic = EvaluationSummary.read(evaluate.results if evaluate is not None else None).academic
    if not academic:
        return []
    figure, axis = plt.subplots(figsize=(6, 3.5))
    lines = [
        "## The alpha sweep",
        "",
        "Accuracy of each merge (alpha = weight of the multimodally trained LLM; 1.0 is the unmerged VLM).",
        "",
    ]
    head = ["benchmark", *[f"alpha {a}" for a in recipe.merge.alphas], "text LLM"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for bench, per_model in academic.items():
        points = sorted((_alpha(name), entry.accuracy) for name, entry in per_model.items() if _alpha(name) is not None)
        line = axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=bench)[0]
        text_llm = per_model.get(TEXT_LLM)
        if text_llm is not None:
            axis.axhline(text_llm.accuracy, linestyle="--", color=line.get_color(), label=f"{bench}: text LLM")
        if headline.get(f"{bench}_chance") is not None:  # a plug-in section may know the guess level
            axis.axhline(headline[f"{bench}_chance"], linestyle=":", color=line.get_color(), label=f"{bench}: guess")
        cells = [f"{dict(points).get(float(a), float('nan')):.3f}" for a in recipe.merge.alphas]
        lines.append("| " + " | ".join([bench, *cells, f"{text_llm.accuracy:.3f}" if text_llm else "–"]) + " |")
        headline[bench] = {
            "text_llm": text_llm.accuracy if text_llm else None,
            "unmerged": dict(points).get(1.0),
            "merged": dict(points).get(recipe.merge.alpha),
        }
    axis.axvline(recipe.merge.alpha, color="#bbb", linestyle=":", label=f"shipped merge (alpha {recipe.merge.alpha})")
    axis.set_xlabel("alpha")
    axis.set_ylabel("accuracy")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out / "sweep.png", dpi=110)
    plt.close(figure)
    findings = [_finding(bench, headline[bench], recipe.merge.alpha) for bench in academic]
    return [*lines, "", "![alpha sweep](sweep.png)", "", "What the sweep shows:", "", *findings, ""]


def _finding(bench: str, scores: dict[str, float | None], alpha: float) -> str:
    """One sentence per benchmark, worded from the numbers against the paper's expected direction."""
    text_llm, unmerged, merged = scores["text_llm"], scores["unmerged"], scores["merged"]
    if unmerged is None or merged is None:
        return f"- {bench}: the sweep lacks the unmerged model or the alpha-{alpha} merge."
    if text_llm is not None:  # a text-only benchmark: forgetting, then recovery by merging
        lost = text_llm - unmerged
        if lost <= 0:
            return (
                f"- {bench} (text only): multimodal training did not lower the text LLM's accuracy "
                f"({text_llm:.3f} -> {unmerged:.3f}), so there was nothing for merging to win back; the paper's "
                "forgetting did not appear in this run."
            )
        regained = (merged - unmerged) / lost
        return (
            f"- {bench} (text only): multimodal training lowered accuracy from {text_llm:.3f} (text LLM) to "
            f"{unmerged:.3f} (unmerged VLM); the alpha-{alpha} merge scores {merged:.3f}, winning back "
            f"{regained:.0%} of the loss (the paper's direction: SFT erodes text skills, merging recovers them)."
        )
    change = merged - unmerged
    kept = merged / unmerged if unmerged else float("nan")
    verdict = (
        "close to it, as the paper found"
        if abs(change) <= 0.02 or kept >= 0.9
        else f"{kept:.0%} of it: unlike the paper, merging cost multimodal accuracy here"
    )
    return f"- {bench}: the alpha-{alpha} merge scores {merged:.3f} against {unmerged:.3f} unmerged, {verdict}."


def _winrate_section(evaluate: EvaluateArtifact | None, out: Path, headline: dict[str, Any]) -> list[str]:
    from ayavision.evaluate.plots import winrate_plot
    from ayavision.evaluate.winrate import WinRateSummary

    pairwise = EvaluationSummary.read(evaluate.results if evaluate is not None else None).pairwise
    lines: list[str] = []
    for bench, entry in pairwise.items():
        results = _read_json(entry.results)
        if results is None:
            continue
        image = f"winrate-{bench}.png"
        winrate_plot(results, out / image)
        summary = WinRateSummary.of(results)
        headline[f"{bench}_win_rate"] = summary.win_rate
        rate = "–" if summary.win_rate is None else f"{summary.win_rate:.1%}"
        interval = "" if summary.ci is None else f" (95% CI {summary.ci[0]:.1%}–{summary.ci[1]:.1%})"
        lines += [
            f"## Win rate on {bench}: {entry.a} vs {entry.b}",
            "",
            f"Macro average over languages: {rate}{interval}; position consistency of the judge "
            f"{summary.position_consistency}.",
            "",
            f"![win rates]({image})",
            "",
        ]
    return lines


def _samples_section(
    recipe: RecipeConfig, evaluate: EvaluateArtifact | None, merged: str | None, per_bench: int = 4
) -> list[str]:
    """A few answers of the shipped merge per benchmark, each in another language, beside the reference."""
    from ayavision.evaluate import load_benchmark

    if evaluate is None or merged is None:
        return []
    rows = []
    for bench in recipe.evaluate.benches:
        answers = _read_jsonl(evaluate.folder / bench.name / merged / "answers.jsonl")
        if not answers or any(row.startswith(f"| {bench.name} |") for row in rows):
            continue
        references = {item.id: item.reference for item in load_benchmark(bench.name, bench.path).items}
        languages: set[str] = set()
        for record in answers:
            if record["language"] in languages:
                continue
            languages.add(record["language"])
            # The question is the prompt's last line (a text-task prompt starts with the written scene).
            question = record["prompt"].strip().splitlines()[-1]
            cells = [bench.name, record["language"], question, references.get(record["id"]) or "", record["answer"]]
            rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
            if len(languages) >= per_bench:
                break
    if not rows:
        return []
    return [
        f"## Sample generations ({merged})",
        "",
        "| benchmark | language | question | reference | answer |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]


def _cell(text: str, width: int = 90) -> str:
    text = text.replace("|", "/").replace("\n", " ").strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def markdown_to_html(markdown: str, folder: Path, title: str) -> str:
    """One self-contained file: the markdown rendered, every figure embedded."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown)

    def embed(match: re.Match) -> str:
        path = folder / match.group(1)
        if not path.exists():
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode()
        return f'src="data:image/png;base64,{data}"'

    body = re.sub(r'src="([^"]+\.png)"', embed, body)
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style></head>"
        f"<body>{body}</body></html>\n"
    )
