"""PNG figures of evaluation results, drawn with matplotlib's object API on the Agg canvas (no display, no pyplot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ayavision.evaluate.metrics import AccuracySummary
from ayavision.evaluate.winrate import WinRateSummary
from ayavision.languages import get_language


def language_label(code: str) -> str:
    try:
        return f"{get_language(code).english_name} ({code})"
    except ValueError:
        return code


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def winrate_plot(results: dict[str, Any], path: str | Path) -> Path:
    """Per-language win rates with their confidence intervals, the macro average and the 50% line."""
    path = Path(path)
    summary = WinRateSummary.of(results)
    rows = [(lang, row) for lang, row in summary.per_language.items() if row.win_rate is not None and row.ci]
    figure = Figure(figsize=(7.5, 1.2 + 0.32 * max(len(rows), 1)))
    axes = figure.add_subplot()
    ys = list(range(len(rows)))
    rates = [100 * row.win_rate for _, row in rows]  # type: ignore[operator]  # None filtered out above
    low = [100 * (row.win_rate - row.ci[0]) for _, row in rows]  # type: ignore[operator,index]
    high = [100 * (row.ci[1] - row.win_rate) for _, row in rows]  # type: ignore[operator,index]
    axes.errorbar(rates, ys, xerr=[low, high], fmt="o", color="#1f5f8b", ecolor="#7fa7c4", capsize=3)
    axes.axvline(50, color="#999999", linestyle=":", linewidth=1)
    macro = summary.win_rate
    if macro is not None:
        axes.axvline(100 * macro, color="#c0392b", linewidth=1.2, label=f"macro average {100 * macro:.1f}%")
        axes.legend(loc="lower right", fontsize=8)
    axes.set_yticks(ys, [language_label(lang) for lang, _ in rows], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    a, b = (results.get(side, {}).get("label", side.upper()) for side in ("a", "b"))
    axes.set_xlabel(f"win rate of {a} over {b} (%)")
    level = round(100 * summary.confidence)
    axes.set_title(f"{results.get('name', '')} — {results.get('bench', '')} ({level}% CI)", fontsize=10)
    _save(figure, path)
    return path


def accuracy_plot(scores: dict[str, Any], path: str | Path) -> Path:
    """Per-language accuracy bars, the macro average, and the unparsed count above each bar."""
    path = Path(path)
    summary = AccuracySummary.of(scores)
    rows = list(summary.rows.items())
    figure = Figure(figsize=(max(4.5, 0.55 * len(rows) + 2), 3.6))
    axes = figure.add_subplot()
    xs = list(range(len(rows)))
    values = [100 * row.accuracy for _, row in rows]
    bars = axes.bar(xs, values, color="#2e8b57")
    for bar, (_, row) in zip(bars, rows, strict=True):
        if row.unparsed or row.randomised:
            note = f"{row.unparsed + row.randomised} unread"
            axes.annotate(
                note,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                fontsize=6,
                xytext=(0, 2),
                textcoords="offset points",
            )
    macro = summary.macro_accuracy
    axes.axhline(100 * macro, color="#c0392b", linewidth=1.2, label=f"macro average {100 * macro:.1f}%")
    axes.legend(loc="upper right", fontsize=8)
    axes.set_xticks(xs, [lang for lang, _ in rows], rotation=45, ha="right", fontsize=8)
    axes.set_ylim(0, 100)
    axes.set_ylabel("accuracy (%)")
    axes.set_title(f"{scores.get('name', '')} — {scores.get('bench', '')}", fontsize=10)
    _save(figure, path)
    return path
