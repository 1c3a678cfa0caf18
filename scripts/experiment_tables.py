"""Tables and a figure, with bootstrap intervals, from a finished recipe run's academic evaluations.

    .venv/bin/python scripts/experiment_tables.py RUN_FOLDER OUT_FOLDER

Reads ``RUN/evaluate/<bench>/<model>/scored.jsonl`` (one line per item: ``correct``) and writes ``OUT/tables.md``
and ``OUT/sweep.png``: per benchmark and model, items right of n, accuracy with a 95% bootstrap interval over items,
per-language accuracy (for benchmarks of at most 8 languages), and the paired change against the text LLM where it
was evaluated. The run's own report gives the same numbers without intervals; with a few dozen items an interval is
what tells a change from noise. `ayavision sweep` writes the same kind of comparison across variants.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ayavision.recipe.compare import bootstrap_interval, paired_difference, read_scored

TEXT_LLM = "text-llm"
SAMPLES, SEED = 2000, 0
MAX_LANGUAGE_COLUMNS = 8


def interval(correct: np.ndarray) -> tuple[float, float]:
    return bootstrap_interval(correct, SAMPLES, SEED)


def model_order(names: list[str]) -> list[str]:
    alphas = sorted((n for n in names if n.startswith("alpha-")), key=lambda n: float(n.split("-", 1)[1]))
    return ([TEXT_LLM] if TEXT_LLM in names else []) + alphas


def tables(run: Path) -> tuple[str, dict]:
    lines, curves = [], {}
    for bench_dir in sorted(p for p in (run / "evaluate").iterdir() if p.is_dir()):
        models = {p.name: read_scored(p) for p in bench_dir.iterdir() if (p / "scored.jsonl").exists()}
        order = model_order(list(models))
        languages = sorted({lang for rows in models.values() for lang, _ in rows.values()})
        if len(languages) > MAX_LANGUAGE_COLUMNS:
            languages = []  # a handful of items per language says little, and 23 columns do not read
        lines += [f"### {bench_dir.name}", ""]
        header = "| model | right | accuracy (95% CI) |"
        header += " change vs text LLM: gained / lost (95% CI) |" if TEXT_LLM in models else ""
        header += "".join(f" {lang} |" for lang in languages)
        lines += [header, "|" + "---|" * (header.count("|") - 1)]
        curves[bench_dir.name] = {}
        for name in order:
            rows = models[name]
            correct = np.array([ok for _, ok in rows.values()], dtype=float)
            low, high = interval(correct)
            curves[bench_dir.name][name] = (correct.mean(), low, high)
            cells = [name, f"{int(correct.sum())}/{len(correct)}", f"{correct.mean():.3f} ({low:.3f}-{high:.3f})"]
            if TEXT_LLM in models:
                change = paired_difference(rows, models[TEXT_LLM])
                gained, lost, (dlow, dhigh) = change["gained"], change["lost"], change["ci"]
                cells.append("–" if name == TEXT_LLM else f"+{gained} / -{lost} ({dlow:+.3f} to {dhigh:+.3f})")
            for lang in languages:
                values = [ok for language, ok in rows.values() if language == lang]
                cells.append(f"{np.mean(values):.2f} (n={len(values)})")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines), curves


def figure(curves: dict, out: Path, guess: dict[str, float]) -> None:
    fig, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 4), squeeze=False)
    for ax, (bench, models) in zip(axes[0], curves.items(), strict=True):
        alphas = [(float(n.split("-", 1)[1]), v) for n, v in models.items() if n.startswith("alpha-")]
        xs = [a for a, _ in alphas]
        ys = np.array([v[0] for _, v in alphas])
        errors = np.array([[v[0] - v[1] for _, v in alphas], [v[2] - v[0] for _, v in alphas]])
        ax.errorbar(xs, ys, yerr=errors, marker="o", capsize=3, label="merge (alpha 1 = unmerged VLM)")
        if TEXT_LLM in models:
            mean, low, high = models[TEXT_LLM]
            ax.axhline(mean, color="grey", linestyle="--", label="text LLM")
            ax.axhspan(low, high, color="grey", alpha=0.15)
        if bench in guess:
            ax.axhline(guess[bench], color="red", linestyle=":", label="uniform guess")
        ax.set_title(bench)
        ax.set_xlabel("alpha (weight of the multimodally trained LLM)")
        ax.set_ylabel("accuracy (95% bootstrap CI)")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    text, curves = tables(args.run)
    headline = args.run / "report" / "headline.json"
    guess = {}
    if headline.exists():
        guess = {k[: -len("_chance")]: v for k, v in json.loads(headline.read_text()).items() if k.endswith("_chance")}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tables.md").write_text(text, encoding="utf-8")
    figure(curves, args.out / "sweep.png", guess)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
