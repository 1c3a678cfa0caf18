"""The comparison report of a sweep: each variant's headline numbers side by side, with bootstrap intervals.

For every academic benchmark the recipes evaluated: accuracy of the unmerged VLM (alpha 1.0), of the shipped merge
and of the text LLM where it was scored, with a 95% percentile-bootstrap interval over items (from each model's
``scored.jsonl``), overall and per language, and each variant's paired difference from the reference variant (the
one without overrides, else the first) on the same held-out items; for every pairwise benchmark the macro win rate
and its interval as the evaluation computed them. Then which settings differ between the variants, read from their
resolved recipes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ayavision.recipe.artifacts import EvaluateArtifact
from ayavision.recipe.config import RecipeConfig
from ayavision.recipe.engine import read_artifact
from ayavision.recipe.evaluation import TEXT_LLM, EvaluationSummary
from ayavision.recipe.report import markdown_to_html
from ayavision.utils.fs import atomic_write_text

BOOTSTRAP_SAMPLES, SEED = 2000, 0
Entry = tuple[str, RecipeConfig, Path, list[tuple[str, Any]]]  # (variant, recipe, run folder, overrides)


def bootstrap_interval(correct: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = SEED) -> tuple[float, float]:
    """95% percentile-bootstrap interval of a mean over items (resampled with replacement)."""
    if len(correct) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = correct[rng.integers(0, len(correct), size=(samples, len(correct)))].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def read_scored(folder: Path) -> dict[str, tuple[str, bool]]:
    """item id -> (language, correct) of one model's scored answers; {} when it was not scored."""
    path = folder / "scored.jsonl"
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: (row["language"], bool(row["correct"])) for row in rows}


def paired_difference(model: dict[str, tuple[str, bool]], reference: dict[str, tuple[str, bool]]) -> dict[str, Any]:
    """Accuracy of ``model`` minus ``reference`` on the items both answered: a paired bootstrap interval (the same
    questions in both, so their difficulty cancels out), and how many items it gained and lost."""
    ids = sorted(set(model) & set(reference))
    diff = np.array([int(model[i][1]) - int(reference[i][1]) for i in ids], dtype=float)
    return {
        "n": len(ids),
        "difference": float(diff.mean()) if len(ids) else float("nan"),
        "ci": bootstrap_interval(diff),
        "gained": int((diff > 0).sum()),
        "lost": int((diff < 0).sum()),
    }


def reference_variant(entries: list[Entry]) -> str:
    """The variant the others are compared with: the base recipe itself where a variant is, else the first."""
    return next((variant for variant, _, _, overrides in entries if not overrides), entries[0][0])


def _models(recipe: RecipeConfig) -> dict[str, str]:
    """Label -> model folder name of what a variant's headline compares."""
    from ayavision.merge import alpha_folder_name

    return {
        "unmerged": alpha_folder_name(1.0),
        f"merged (alpha {recipe.merge.alpha})": alpha_folder_name(recipe.merge.alpha),
        "text LLM": TEXT_LLM,
    }


def collect(entries: list[Entry]) -> dict[str, Any]:
    """Per benchmark, model and variant: n, accuracy, interval and per-language accuracy; and the win rates."""
    academic: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    pairwise: dict[str, dict[str, dict[str, Any]]] = {}
    scored: dict[tuple[str, str, str], dict[str, tuple[str, bool]]] = {}
    reference = reference_variant(entries) if entries else ""
    for variant, recipe, run, _ in entries:
        evaluate = read_artifact(run / "evaluate", run, EvaluateArtifact)
        if not isinstance(evaluate, EvaluateArtifact):
            continue
        summary = EvaluationSummary.read(evaluate.results)
        for bench in summary.academic:
            for label, name in _models(recipe).items():
                rows = read_scored(evaluate.folder / bench / name)
                if not rows:
                    continue
                scored[bench, label, variant] = rows
                correct = np.array([ok for _, ok in rows.values()], dtype=float)
                languages: dict[str, list[bool]] = {}
                for lang, ok in rows.values():
                    languages.setdefault(lang, []).append(ok)
                academic.setdefault(bench, {}).setdefault(label, {})[variant] = {
                    "n": len(rows),
                    "accuracy": float(correct.mean()),
                    "ci": bootstrap_interval(correct),
                    "languages": {lang: sum(oks) / len(oks) for lang, oks in sorted(languages.items())},
                }
        for bench, result in summary.pairwise.items():
            pairwise.setdefault(bench, {})[variant] = {
                "a": result.a,
                "b": result.b,
                "win_rate": result.win_rate,
                "ci": list(result.ci) if result.ci else None,
            }
    for (bench, label, variant), rows in scored.items():
        base = scored.get((bench, label, reference))
        if variant != reference and base is not None:
            academic[bench][label][variant]["vs_reference"] = paired_difference(rows, base)
    return {"reference": reference, "academic": academic, "pairwise": pairwise}


def differing_settings(entries: list[Entry]) -> dict[str, dict[str, Any]]:
    """Dotted setting -> {variant: value} for every setting whose value is not the same in all variants."""
    flat = {variant: _flatten(_portable(recipe, run)) for variant, recipe, run, _ in entries}
    keys = sorted({key for values in flat.values() for key in values})
    return {
        key: {variant: values.get(key) for variant, values in flat.items()}
        for key in keys
        if len({json.dumps(values.get(key), sort_keys=True, default=str) for values in flat.values()}) > 1
    }


def write_comparison(entries: list[Entry], out: Path) -> dict[str, Any]:
    """``report.md``, ``report.html`` (one file) and figures in ``out``; returns what they show."""
    out.mkdir(parents=True, exist_ok=True)
    numbers = collect(entries)
    variants = [variant for variant, *_ in entries]
    lines = ["# Sweep comparison", "", f"Variants: {', '.join(variants)}.", ""]
    lines += _settings_section(entries)
    for bench, per_model in numbers["academic"].items():
        lines += _academic_section(bench, per_model, variants, numbers["reference"], out)
    for bench, per_variant in numbers["pairwise"].items():
        lines += _pairwise_section(bench, per_variant, variants)
    markdown = "\n".join(lines) + "\n"
    atomic_write_text(out / "report.md", markdown)
    atomic_write_text(out / "report.html", markdown_to_html(markdown, out, "sweep comparison"))
    atomic_write_text(out / "comparison.json", json.dumps(numbers, indent=1))
    return numbers


def _settings_section(entries: list[Entry]) -> list[str]:
    differing = differing_settings(entries)
    lines = ["## What differs between the variants", ""]
    for variant, _, _, overrides in entries:
        shown = ", ".join(f"`{key}={json.dumps(value, default=str)}`" for key, value in overrides) or "the base recipe"
        lines.append(f"- **{variant}**: {shown}")
    lines.append("")
    if differing:
        variants = [variant for variant, *_ in entries]
        lines += ["| setting | " + " | ".join(variants) + " |", "|---|" + "---|" * len(variants)]
        for key, values in differing.items():
            cells = [_cell(json.dumps(values[v], default=str)) for v in variants]
            lines.append(f"| `{key}` | " + " | ".join(cells) + " |")
        lines.append("")
    else:
        lines += ["All variants resolve to the same settings.", ""]
    return lines


def _academic_section(
    bench: str, per_model: dict[str, dict[str, Any]], variants: list[str], reference: str, out: Path
) -> list[str]:
    lines = [f"## {bench}", "", "Accuracy with its 95% bootstrap interval over items.", ""]
    lines += ["| model | " + " | ".join(variants) + " |", "|---|" + "---|" * len(variants)]
    for label, per_variant in per_model.items():
        lines.append(f"| {label} | " + " | ".join(_accuracy(per_variant.get(v)) for v in variants) + " |")
    others = [v for v in variants if v != reference]
    compared = {label: pv for label, pv in per_model.items() if any("vs_reference" in pv.get(v, {}) for v in others)}
    if compared:
        lines += [
            "",
            f"Difference from {reference} on the same items (paired 95% bootstrap interval; items gained / lost):",
            "",
            "| model | " + " | ".join(others) + " |",
            "|---|" + "---|" * len(others),
        ]
        for label, per_variant in compared.items():
            lines.append(f"| {label} | " + " | ".join(_difference(per_variant.get(v)) for v in others) + " |")
    figure = _figure(bench, per_model, variants)
    image = f"{bench}.png"
    FigureCanvasAgg(figure)
    figure.tight_layout()
    figure.savefig(out / image, dpi=110)
    lines += ["", f"![{bench}]({image})", ""]
    headline = next((label for label in per_model if label.startswith("merged")), None)
    for label in [label for label in ("unmerged", headline) if label in per_model]:
        per_variant = per_model[label]
        languages = sorted({lang for entry in per_variant.values() for lang in entry["languages"]})
        if len(languages) < 2:
            continue
        lines += [
            f"Per language, {label}:",
            "",
            "| language | " + " | ".join(variants) + " |",
            "|---|" + "---|" * len(variants),
        ]
        for lang in languages:
            cells = [
                f"{per_variant[v]['languages'][lang]:.2f}"
                if v in per_variant and lang in per_variant[v]["languages"]
                else "–"
                for v in variants
            ]
            lines.append(f"| {lang} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _accuracy(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "–"
    return f"{entry['accuracy']:.3f} ({entry['ci'][0]:.3f}–{entry['ci'][1]:.3f}), n={entry['n']}"


def _difference(entry: dict[str, Any] | None) -> str:
    change = (entry or {}).get("vs_reference")
    if change is None:
        return "–"
    low, high = change["ci"]
    return f"{change['difference']:+.3f} ({low:+.3f} to {high:+.3f}); +{change['gained']} / -{change['lost']}"


def _figure(bench: str, per_model: dict[str, dict[str, Any]], variants: list[str]) -> Figure:
    figure = Figure(figsize=(max(5.0, 1.1 * len(variants) * max(1, len(per_model)) + 1.5), 3.4))
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(per_model))
    for offset, (label, per_variant) in enumerate(per_model.items()):
        xs, ys, low, high = [], [], [], []
        for index, variant in enumerate(variants):
            entry = per_variant.get(variant)
            if entry is None:
                continue
            xs.append(index + (offset - (len(per_model) - 1) / 2) * width)
            ys.append(entry["accuracy"])
            low.append(entry["accuracy"] - entry["ci"][0])
            high.append(entry["ci"][1] - entry["accuracy"])
        axes.bar(xs, ys, width=width, yerr=[low, high], capsize=3, label=label)
    axes.set_xticks(range(len(variants)), variants)
    axes.set_ylim(0, 1)
    axes.set_ylabel("accuracy")
    axes.set_title(f"{bench} (95% bootstrap intervals)", fontsize=10)
    axes.legend(fontsize=7)
    return figure


def _pairwise_section(bench: str, per_variant: dict[str, dict[str, Any]], variants: list[str]) -> list[str]:
    lines = [f"## {bench}: win rates", "", "Macro average over languages, with the judge's 95% bootstrap interval.", ""]
    lines += ["| variant | pair | win rate |", "|---|---|---|"]
    for variant in variants:
        entry = per_variant.get(variant)
        if entry is None or entry["win_rate"] is None:
            continue
        low, high = entry["ci"] or [float("nan"), float("nan")]
        rate = f"{100 * entry['win_rate']:.1f}% ({100 * low:.1f}–{100 * high:.1f}%)"
        lines.append(f"| {variant} | {entry['a']} vs {entry['b']} | {rate} |")
    return [*lines, ""]


def _portable(recipe: RecipeConfig, run: Path) -> dict[str, Any]:
    """The resolved recipe with paths inside the run folder written as {run}/...: what variants can share."""
    text = recipe.model_dump_json().replace(json.dumps(str(run))[1:-1], "{run}")
    return json.loads(text)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _cell(text: str, width: int = 60) -> str:
    text = text.replace("|", "/")
    return text if len(text) <= width else text[: width - 1] + "…"
