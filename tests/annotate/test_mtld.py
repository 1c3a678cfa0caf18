"""MTLD: equal to lexicalrichness on English text, and sensible on Chinese and Japanese."""

from __future__ import annotations

import random

import pytest
from lexicalrichness import LexicalRichness

from ayavision.annotate.metrics.mtld import mtld, mtld_tokens
from ayavision.annotate.metrics.text import count_words

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "A red umbrella.",
    "Yes",
    "The chart shows that sales rose from 12% in 2019 to 18.5% in 2021 — a well-known, long-term trend; "
    "however, the north-east region (unlike the south) didn't follow it: its figures fell, fell and fell again.",
    "“Quoted” words, it’s said, keep their curly marks: ‘single’ and “double” ones alike.",
    "the the the the the the the the the the cat the the the",
    "In the image, a man in a blue jacket holds a red umbrella over a small child while it rains. "
    "Behind them, a yellow taxi waits at the kerb, and a woman with a dog crosses the street. "
    "The shop windows reflect the grey sky, and puddles on the pavement mirror the umbrella's colour.",
    "Step 1: add 3 and 4 to get 7. Step 2: multiply 7 by 2 to get 14. Therefore the answer is 14.",
    "e-mail, co-operate, re-enter -- dashes – en and — em; tabs\tand\nnew lines.",
]
VOCABULARY = [
    "the", "a", "of", "and", "to", "in", "is", "it", "that", "was", "for", "on", "are", "with", "as", "his", "they",
    "be", "at", "one", "have", "this", "from", "image", "shows", "red", "blue", "car", "tree", "sky", "person",
    "holding", "umbrella", "street", "chart",
]  # fmt: skip


def _random_texts(count: int) -> list[str]:
    rng = random.Random(7)
    texts = []
    for _ in range(count):
        words = [rng.choice(VOCABULARY) for _ in range(rng.randint(1, 150))]
        texts.append(" ".join(w + rng.choice(["", "", "", ",", ".", "!", " 42", "'s"]) for w in words))
    return texts


@pytest.mark.parametrize("text", ENGLISH + _random_texts(200))
def test_equals_lexicalrichness_on_english(text: str):
    oracle = LexicalRichness(text)
    assert mtld_tokens(text) == oracle.wordlist
    assert mtld(text) == pytest.approx(oracle.mtld(threshold=0.72), rel=1e-12, abs=1e-12)


def test_threshold_is_honoured():
    text = _random_texts(1)[0]
    assert mtld(text, threshold=0.5) != mtld(text)


CHINESE_VARIED = (
    "图片中一位穿着蓝色外套的男人撑着一把红色的雨伞，为身边的小孩遮雨。"
    "他们身后有一辆黄色出租车停在路边，一位女士牵着狗正在过马路。"
    "商店的橱窗映出灰色的天空，人行道上的水坑倒映着雨伞的颜色。"
)
CHINESE_REPETITIVE = "红色的伞。红色的伞。红色的伞。红色的伞。红色的伞。红色的伞。红色的伞。红色的伞。"


def test_chinese_is_counted_by_character_not_by_sentence():
    tokens = mtld_tokens(CHINESE_VARIED)
    assert len(tokens) == sum(1 for ch in CHINESE_VARIED if "\u4e00" <= ch <= "\u9fff")
    assert "。" not in tokens and "，" not in tokens
    # lexicalrichness sees whole sentences as single "words": 3 of them here, all distinct.
    assert len(LexicalRichness(CHINESE_VARIED).wordlist) <= 3
    assert count_words(CHINESE_VARIED) == len(tokens)


def test_chinese_mtld_separates_varied_from_repetitive_text():
    varied, repetitive = mtld(CHINESE_VARIED), mtld(CHINESE_REPETITIVE)
    assert 10 < varied < len(mtld_tokens(CHINESE_VARIED))
    assert repetitive < 8 and varied > 3 * repetitive


def test_japanese_groups_kana_runs_and_splits_kanji():
    assert mtld_tokens("これはカメラです。東京に行きます") == [
        "これは",
        "カメラ",
        "です",
        "東",
        "京",
        "に",
        "行",
        "きます",
    ]
    assert mtld_tokens("Model X は 2024 年に発売") == ["model", "x", "は", "年", "に", "発", "売"]


def test_text_without_words_measures_zero():
    assert mtld("") == 0.0 and mtld("123 ... 456") == 0.0
