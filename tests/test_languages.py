"""The registry of the 23 languages."""

from __future__ import annotations

import pytest

from ayavision.languages import LANGUAGES, UnknownLanguageError, get_language, nllb_code, non_english


def test_twenty_three_languages_with_unique_codes():
    assert len(LANGUAGES) == 23
    assert len({lang.nllb for lang in LANGUAGES}) == 23
    assert len({lang.iso for lang in LANGUAGES}) == 23
    assert len(non_english()) == 22
    for lang in LANGUAGES:
        assert lang.nllb.endswith("_" + lang.script)  # NLLB codes carry the script


@pytest.mark.parametrize("code", ["fr", "fra_Latn"])
def test_lookup_by_either_code(code):
    lang = get_language(code)
    assert (lang.nllb, lang.iso, lang.english_name, lang.native_name) == ("fra_Latn", "fr", "French", "Français")


def test_right_to_left_scripts():
    assert {lang.iso for lang in LANGUAGES if lang.is_rtl} == {"ar", "fa", "he"}
    assert get_language("pes_Arab").script == "Arab" and nllb_code("zh") == "zho_Hans"


@pytest.mark.parametrize("code", ["xx", "fra", "FR", "", None])
def test_unknown_code_lists_the_valid_ones(code):
    with pytest.raises(UnknownLanguageError) as err:
        get_language(code)
    assert "fra_Latn/fr" in str(err.value) and "vie_Latn/vi" in str(err.value)
