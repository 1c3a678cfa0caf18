"""A markdown report with PNG plots from one or more result folders (``results.json`` and/or ``scores.json``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ayavision.errors import AyaVisionError
from ayavision.evaluate.judge import RESULTS
from ayavision.evaluate.metrics import SCORES, AccuracySummary
from ayavision.evaluate.plots import accuracy_plot, language_label, winrate_plot
from ayavision.evaluate.winrate import WinRateSummary
from ayavision.utils.fs import atomic_dir

REPORT = "report.md"


class ReportInputError(AyaVisionError, ValueError):
    """A result folder that holds no results, or results that cannot be read."""


def _read(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ReportInputError(f"{path}: cannot read results ({err})") from None
    if not isinstance(value, dict) or value.get("kind") not in ("pairwise", "academic") or "languages" not in value:
        raise ReportInputError(f"{path}: not a results file written by `ayavision eval`")
    return value


def collect_results(folders: list[str | Path]) -> list[dict[str, Any]]:
    """The results in each folder, in the order given; a folder with none is an error naming it."""
    found = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise ReportInputError(f"{folder}: not a folder")
        files = [folder / name for name in (RESULTS, SCORES) if (folder / name).is_file()]
        if not files:
            raise ReportInputError(f"{folder}: holds neither {RESULTS} (eval judge) nor {SCORES} (eval score)")
        for file in files:
            result = _read(file)
            result["_source"] = str(folder)
            found.append(result)
    return found


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "—" if not ci else f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def _slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60] or "result"
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    used.add(slug)
    return slug


def _pairwise_section(result: dict[str, Any], image: str) -> list[str]:
    judge = result.get("judge") or {}
    level = round(100 * result.get("confidence", 0.95))
    lines = [
        f"### {result.get('name', '?')} — {result.get('bench', '?')}",
        "",
        f"Source: `{result['_source']}`. Judge: `{judge.get('model', judge)}`; each pair judged in both orders; "
        f"strong verdicts count {result.get('strong_weight', 1)}x.",
        "",
        f"| language | win rate % | {level}% CI | wins / ties / losses (games) | pairs scored | missing verdict "
        "| not judged | position consistency % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    summary = WinRateSummary.of(result)
    assert summary.overall is not None  # WinRateSummary.of always fills the macro row
    rows = [(language_label(lang), _pct(row.win_rate), row) for lang, row in summary.per_language.items()]
    macro = summary.overall
    rows.append((f"**macro average ({summary.languages} languages)**", f"**{_pct(macro.win_rate)}**", macro))
    for label, rate, row in rows:
        lines.append(
            f"| {label} | {rate} | {_ci(row.ci)} | {row.wins} / {row.ties} / {row.losses} | {row.scored} | "
            f"{row.missing} | {row.unjudged} | {_pct(row.position_consistency)} |"
        )
    notes = [
        f"Pairs left out of the win rate: {summary.missing} with an unreadable verdict, "
        f"{summary.unjudged} not yet judged.",
        f"Slot A won {_pct(summary.first_slot_win_share)}% of decisive games (50% means no position bias).",
    ]
    if not result.get("complete", True):
        notes.append("**Incomplete:** some games could not be judged; rerun `ayavision eval judge` to finish.")
    return [*lines, "", *notes, "", f"![win rates]({image})", ""]


def _academic_section(result: dict[str, Any], image: str) -> list[str]:
    settings = result.get("settings", {})
    rule = "counted as wrong"
    if settings.get("unparsed") == "random":
        rule = f"replaced by a random option (seed {settings.get('seed')}, fixed per item)"
    lines = [
        f"### {result.get('name', '?')} — {result.get('bench', '?')}",
        "",
        f"Source: `{result['_source']}`. Unreadable multiple-choice answers are {rule}.",
        "",
        "| language | accuracy % | items | correct | unreadable | randomised |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    summary = AccuracySummary.of(result)
    assert summary.overall is not None  # AccuracySummary.of always fills it
    rows = [(language_label(lang), _pct(row.accuracy), row) for lang, row in summary.rows.items()]
    rows.append(("**all items**", f"**{_pct(summary.overall.accuracy)}**", summary.overall))
    for label, accuracy, row in rows:
        lines.append(f"| {label} | {accuracy} | {row.n} | {row.correct} | {row.unparsed} | {row.randomised} |")
    lines.append(f"| **macro average ({len(summary.rows)} languages)** | **{_pct(summary.macro_accuracy)}** | | | | |")
    return [*lines, "", f"![accuracy]({image})", ""]


def write_report(folders: list[str | Path], out: str | Path, overwrite: bool = False) -> Path:
    """Write ``report.md`` and one PNG per result into ``out`` (replaced as a whole, atomically)."""
    results = collect_results(folders)
    out = Path(out)
    used: set[str] = set()
    summary = ["| result | benchmark | kind | macro average % | languages |", "|---|---|---|---:|---:|"]
    pairwise, academic = [], []
    with atomic_dir(out, overwrite=overwrite) as tmp:
        for result in results:
            slug = _slug(f"{result.get('name', '')}-{result.get('bench', '')}", used)
            if result["kind"] == "pairwise":
                image = f"winrate-{slug}.png"
                winrate_plot(result, tmp / image)
                pairwise += _pairwise_section(result, image)
                headline = WinRateSummary.of(result)
                value, languages = headline.win_rate, headline.languages
            else:
                image = f"accuracy-{slug}.png"
                accuracy_plot(result, tmp / image)
                academic += _academic_section(result, image)
                scores = AccuracySummary.of(result)
                value, languages = scores.macro_accuracy, len(scores.rows)
            summary.append(
                f"| {result.get('name', '?')} | {result.get('bench', '?')} | {result['kind']} | {_pct(value)} | "
                f"{languages} |"
            )
        text = ["# Evaluation report", "", *summary, ""]
        if pairwise:
            text += ["## Win rates (pairwise LLM judge)", "", *pairwise]
        if academic:
            text += ["## Academic benchmarks", "", *academic]
        (tmp / REPORT).write_text("\n".join(text), encoding="utf-8")
    return out / REPORT
