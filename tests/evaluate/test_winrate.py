"""Win-rate statistics: scoring of both orders, missing verdicts, consistency, and bootstrap coverage."""

from __future__ import annotations

import numpy as np
import pytest

from ayavision.evaluate.winrate import PairVerdicts, summarise


def _pairs(verdicts: list[tuple[str | None, str | None]], language: str = "eng_Latn") -> list[PairVerdicts]:
    return [PairVerdicts(f"{language}/{i}", language, f, b) for i, (f, b) in enumerate(verdicts)]


def test_always_slot_a_judge_gives_half_and_no_consistency() -> None:
    result = summarise(_pairs([("A>B", "A>B")] * 40))
    assert result["macro"]["win_rate"] == 0.5
    assert result["position_consistency"] == 0.0
    assert result["first_slot_win_share"] == 1.0
    lang = result["languages"]["eng_Latn"]
    assert (lang["wins"], lang["ties"], lang["losses"]) == (40, 0, 40)


def test_consistent_judge_and_strong_weights() -> None:
    # a wins strongly in both orders on one item, ties on another.
    pairs = _pairs([("A>>B", "B>>A"), ("A=B", "A=B")])
    plain = summarise(pairs)
    assert plain["macro"]["win_rate"] == pytest.approx(3 / 4)
    assert plain["position_consistency"] == 1.0
    weighted = summarise(pairs, strong_weight=3)
    assert weighted["macro"]["win_rate"] == pytest.approx((3 + 3 + 0.5 + 0.5) / (3 + 3 + 1 + 1))


def test_missing_verdicts_leave_the_score_and_are_counted() -> None:
    result = summarise(_pairs([("A>B", "B>A"), (None, "B>A"), ("A>B", None)]))
    lang = result["languages"]["eng_Latn"]
    assert (lang["pairs"], lang["scored"], lang["missing"]) == (3, 1, 2)
    assert lang["win_rate"] == 1.0  # not pulled towards 0.5 by the missing games


def test_macro_is_the_mean_over_languages() -> None:
    pairs = _pairs([("A>B", "B>A")] * 3, "fra_Latn") + _pairs([("B>A", "A>B")] * 30, "deu_Latn")
    result = summarise(pairs)
    assert result["languages"]["fra_Latn"]["win_rate"] == 1.0
    assert result["languages"]["deu_Latn"]["win_rate"] == 0.0
    assert result["macro"]["win_rate"] == 0.5 and result["macro"]["languages"] == 2
    assert result["overall"]["win_rate"] == pytest.approx(3 / 33)


def test_a_language_with_only_missing_pairs_is_reported_not_averaged() -> None:
    pairs = _pairs([("A>B", "B>A")], "fra_Latn") + _pairs([(None, None)], "deu_Latn")
    result = summarise(pairs)
    assert result["languages"]["deu_Latn"]["win_rate"] is None
    assert result["macro"] == {"win_rate": 1.0, "ci": [1.0, 1.0], "languages": 1}


def _simulated(rate: float, n: int, rng: np.random.Generator) -> list[PairVerdicts]:
    # Each game is an independent win for a with probability ``rate``: the true win rate is ``rate``.
    wins = rng.random((n, 2)) < rate
    return [
        PairVerdicts(str(i), "eng_Latn", "A>B" if w1 else "B>A", "B>A" if w2 else "A>B")
        for i, (w1, w2) in enumerate(wins)
    ]


def test_bootstrap_interval_covers_the_true_rate() -> None:
    true_rate, covered = 0.62, 0
    for seed in range(100):
        pairs = _simulated(true_rate, 150, np.random.default_rng(1000 + seed))
        low, high = summarise(pairs, bootstrap_samples=500, seed=seed)["languages"]["eng_Latn"]["ci"]
        covered += low <= true_rate <= high
    assert covered >= 90, covered


def test_macro_interval_covers_the_true_macro_rate() -> None:
    rates = {"fra_Latn": 0.3, "jpn_Jpan": 0.7, "hin_Deva": 0.55}
    covered = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        pairs = []
        for lang, rate in rates.items():
            pairs += [
                PairVerdicts(f"{lang}/{p.item_id}", lang, p.forward, p.backward) for p in _simulated(rate, 60, rng)
            ]
        low, high = summarise(pairs, bootstrap_samples=500, seed=seed)["macro"]["ci"]
        covered += low <= np.mean(list(rates.values())) <= high
    assert covered >= 90, covered
