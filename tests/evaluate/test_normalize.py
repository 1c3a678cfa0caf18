"""Normalisation treats every script alike: digits, punctuation, case and spacing."""

from __future__ import annotations

import pytest

from ayavision.evaluate.normalize import ascii_digits, normalize_answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("٣٤", "34"),  # Arabic-Indic digits
        ("۳۴", "34"),  # Persian digits
        ("३४", "34"),  # Devanagari digits
        ("３４", "34"),  # full-width digits
        ("Москва!", "москва"),  # Cyrillic case and punctuation
        ("ΟΔΥΣΣΕΥΣ", "οδυσσευσ"),  # Greek final sigma folds with the others
        ("Straße", "strasse"),
        ("İstanbul", "istanbul"),  # Turkish dotted capital I
        ("北京。", "北京"),  # CJK full stop
        ("北 京", "北京"),  # no spaces inside Chinese
        ("「東京」です", "東京です"),  # Japanese brackets and kana
        ("ما هذا؟", "ما هذا"),  # Arabic question mark
        ("مُحَمَّد", "محمد"),  # Arabic vowel marks are optional
        ("शिक्षा।", "शिक्षा"),  # Devanagari danda; vowel signs stay
        ("Tiếng Việt.", "tiếng việt"),  # Vietnamese tones are letters, kept
        ("می\u200cخواهم", "می خواهم"),  # Persian half-space = a space
        ("  ¿Qué   hora es?  ", "qué hora es"),
        ("«Bonjour», dit-il", "bonjour dit il"),
        ("50%", "50%"),  # symbols carry meaning
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


def test_latin_words_keep_their_spaces() -> None:
    assert normalize_answer("New  York") == "new york"
    assert normalize_answer("New York") != normalize_answer("NewYork")


def test_ascii_digits_leaves_other_characters() -> None:
    assert ascii_digits("سعر ٥٠ ريال") == "سعر 50 ريال"
