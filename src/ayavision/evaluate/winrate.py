"""Win rates from pairwise verdicts: per language with bootstrap confidence intervals, the macro average over
languages, and how consistently the judge ruled when the two answers swapped places.

Each pair (one item, systems a and b) is judged twice: game 1 shows a's answer first (slot A), game 2 shows
b's answer first. From a's side a game scores 1 (win), 0.5 (tie) or 0 (loss); a strong verdict (``A>>B``)
counts as ``strong_weight`` games (1 = no weighting; arena-hard uses 3). A pair whose games both have a
readable verdict contributes its weighted score; a pair with an unreadable verdict in either game is left
out of every rate and counted as ``missing`` — never as a tie.

The win rate of a over b is sum(weighted scores) / sum(weights) over the pairs. Confidence intervals are
percentile bootstraps over pairs (resampled within each language, so the macro interval resamples every
language independently). Position consistency is the share of scored pairs whose two games favour the same
system (or both tie); a judge that always prefers slot A scores 0, and shows ``first_slot_win_share`` 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ayavision.evaluate.verdicts import VERDICTS


@dataclass(frozen=True)
class PairVerdicts:
    """The verdicts of one pair's two games; ``None`` is a game whose reply held no readable verdict."""

    item_id: str
    language: str
    forward: str | None  # game 1: a's answer in slot A
    backward: str | None  # game 2: b's answer in slot A

    @property
    def scored(self) -> bool:
        return self.forward is not None and self.backward is not None


def a_outcome(verdict: str, a_in_slot_a: bool) -> int:
    """+2/+1/0/-1/-2 from system a's side, whichever slot a's answer was shown in."""
    value = VERDICTS[verdict]
    return value if a_in_slot_a else -value


def game_score(outcome: int) -> float:
    return 1.0 if outcome > 0 else 0.5 if outcome == 0 else 0.0


def _pair_arrays(pairs: list[PairVerdicts], strong_weight: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per scored pair: weighted score sum, weight sum, and whether the two games agree."""
    sums, weights, agree = [], [], []
    for pair in pairs:
        outcomes = [a_outcome(pair.forward, True), a_outcome(pair.backward, False)]  # type: ignore[arg-type]
        w = [strong_weight if abs(o) == 2 else 1 for o in outcomes]
        sums.append(sum(wi * game_score(o) for wi, o in zip(w, outcomes, strict=True)))
        weights.append(sum(w))
        agree.append(np.sign(outcomes[0]) == np.sign(outcomes[1]))
    return np.asarray(sums, float), np.asarray(weights, float), np.asarray(agree, bool)


def _bootstrap(sums: np.ndarray, weights: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Win rates of ``samples`` resamplings (with replacement) of the pairs."""
    index = rng.integers(0, len(sums), size=(samples, len(sums)))
    return sums[index].sum(axis=1) / weights[index].sum(axis=1)


def _interval(draws: np.ndarray, confidence: float) -> list[float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return [float(low), float(high)]


def _counts(pairs: list[PairVerdicts]) -> dict[str, int]:
    wins = ties = losses = 0
    for pair in pairs:
        for verdict, a_first in ((pair.forward, True), (pair.backward, False)):
            outcome = a_outcome(verdict, a_first)  # type: ignore[arg-type]
            wins += outcome > 0
            ties += outcome == 0
            losses += outcome < 0
    return {"wins": wins, "ties": ties, "losses": losses}


def _first_slot_share(pairs: list[PairVerdicts]) -> float | None:
    decisive = [VERDICTS[v] for p in pairs for v in (p.forward, p.backward) if v is not None and VERDICTS[v] != 0]
    return float(np.mean([value > 0 for value in decisive])) if decisive else None


def summarise(
    pairs: Iterable[PairVerdicts],
    *,
    strong_weight: int = 1,
    bootstrap_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Per-language and macro win rates of system a over system b, with intervals, counts and consistency.

    Languages are reported in sorted order; a language whose pairs are all missing has ``win_rate`` ``None``
    and is left out of the macro average (its count says so).
    """
    pairs = list(pairs)
    rng = np.random.default_rng(seed)
    by_language: dict[str, list[PairVerdicts]] = {}
    for pair in pairs:
        by_language.setdefault(pair.language, []).append(pair)
    languages: dict[str, Any] = {}
    draws = []
    for language in sorted(by_language):
        group = by_language[language]
        scored = [p for p in group if p.scored]
        entry: dict[str, Any] = {"pairs": len(group), "scored": len(scored), "missing": len(group) - len(scored)}
        entry.update(_counts(scored))
        if scored:
            sums, weights, agree = _pair_arrays(scored, strong_weight)
            sample = _bootstrap(sums, weights, bootstrap_samples, rng)
            draws.append(sample)
            entry.update(
                win_rate=float(sums.sum() / weights.sum()),
                ci=_interval(sample, confidence),
                position_consistency=float(agree.mean()),
            )
        else:
            entry.update(win_rate=None, ci=None, position_consistency=None)
        languages[language] = entry
    scored_all = [p for p in pairs if p.scored]
    result: dict[str, Any] = {
        "pairs": len(pairs),
        "scored": len(scored_all),
        "missing": len(pairs) - len(scored_all),
        "languages": languages,
        "strong_weight": strong_weight,
        "confidence": confidence,
        "bootstrap_samples": bootstrap_samples,
        "first_slot_win_share": _first_slot_share(pairs),
    }
    if draws:
        rates = [entry["win_rate"] for entry in languages.values() if entry["win_rate"] is not None]
        sums, weights, agree = _pair_arrays(scored_all, strong_weight)
        result["macro"] = {
            "win_rate": float(np.mean(rates)),
            "ci": _interval(np.mean(np.stack(draws), axis=0), confidence),
            "languages": len(rates),
        }
        result["overall"] = {"win_rate": float(sums.sum() / weights.sum()), **_counts(scored_all)}
        result["position_consistency"] = float(agree.mean())
    else:
        result["macro"] = {"win_rate": None, "ci": None, "languages": 0}
        result["overall"] = {"win_rate": None, "wins": 0, "ties": 0, "losses": 0}
        result["position_consistency"] = None
    return result


@dataclass(frozen=True)
class WinRateRow:
    """One row of a win-rate result, typed: a language's entry, or the macro average with the overall counts."""

    win_rate: float | None
    ci: tuple[float, float] | None
    wins: int = 0  # games, not pairs
    ties: int = 0
    losses: int = 0
    scored: int = 0  # pairs
    missing: int = 0
    unjudged: int = 0
    position_consistency: float | None = None

    @classmethod
    def of(cls, entry: dict[str, Any]) -> WinRateRow:
        """A language's entry of ``summarise``'s result (keys a partial result lacks count as 0 or None)."""
        ci = entry.get("ci")
        counts = {key: entry.get(key, 0) for key in ("wins", "ties", "losses", "scored", "missing", "unjudged")}
        return cls(entry.get("win_rate"), tuple(ci) if ci else None, **counts,  # type: ignore[arg-type]
                   position_consistency=entry.get("position_consistency"))  # fmt: skip


@dataclass(frozen=True)
class WinRateSummary:
    """The headline of a ``summarise`` (or ``judge_pairs``) result, typed: what other modules read of it."""

    win_rate: float | None  # macro average over languages
    ci: tuple[float, float] | None
    languages: int  # languages in the macro average
    scored: int
    missing: int
    unjudged: int
    position_consistency: float | None
    per_language: dict[str, WinRateRow] = field(default_factory=dict)  # sorted by language code
    overall: WinRateRow | None = None  # the macro row: macro win rate and interval, all games' counts
    confidence: float = 0.95
    first_slot_win_share: float | None = None

    @classmethod
    def of(cls, results: dict[str, Any]) -> WinRateSummary:
        macro = results["macro"]
        # The macro row: the macro rate and interval beside every game's counts and the result's pair counts.
        totals = {**results.get("overall", {}), **{k: results.get(k, 0) for k in ("scored", "missing", "unjudged")}}
        overall = WinRateRow.of({**totals, **macro, "position_consistency": results.get("position_consistency")})
        return cls(
            win_rate=overall.win_rate,
            ci=overall.ci,
            languages=macro["languages"],
            scored=results["scored"],
            missing=results["missing"],
            unjudged=overall.unjudged,
            position_consistency=overall.position_consistency,
            per_language={lang: WinRateRow.of(e) for lang, e in sorted(results["languages"].items())},
            overall=overall,
            confidence=results.get("confidence", 0.95),
            first_slot_win_share=results.get("first_slot_win_share"),
        )
