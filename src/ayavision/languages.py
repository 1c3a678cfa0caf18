"""The registry of the 23 Aya Vision languages: codes, names, scripts and writing direction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ayavision.errors import AyaVisionError


@dataclass(frozen=True)
class Language:
    nllb: str  # e.g. "fra_Latn": the code NLLB-200 and AyaVisionBench use
    iso: str  # ISO 639-1, e.g. "fr": the code m-ArenaHard uses
    english_name: str
    native_name: str
    script: str  # ISO 15924
    direction: Literal["ltr", "rtl"]

    @property
    def is_rtl(self) -> bool:
        return self.direction == "rtl"


class UnknownLanguageError(AyaVisionError, ValueError):
    """A language code that is in neither the NLLB nor the ISO 639-1 column of the registry."""


LANGUAGES: tuple[Language, ...] = (
    Language("eng_Latn", "en", "English", "English", "Latn", "ltr"),
    Language("fra_Latn", "fr", "French", "Français", "Latn", "ltr"),
    Language("deu_Latn", "de", "German", "Deutsch", "Latn", "ltr"),
    Language("spa_Latn", "es", "Spanish", "Español", "Latn", "ltr"),
    Language("ita_Latn", "it", "Italian", "Italiano", "Latn", "ltr"),
    Language("por_Latn", "pt", "Portuguese", "Português", "Latn", "ltr"),
    Language("jpn_Jpan", "ja", "Japanese", "日本語", "Jpan", "ltr"),
    Language("kor_Hang", "ko", "Korean", "한국어", "Hang", "ltr"),
    Language("zho_Hans", "zh", "Chinese (Simplified)", "简体中文", "Hans", "ltr"),
    Language("arb_Arab", "ar", "Arabic", "العربية", "Arab", "rtl"),
    Language("ell_Grek", "el", "Greek", "Ελληνικά", "Grek", "ltr"),
    Language("pes_Arab", "fa", "Persian", "فارسی", "Arab", "rtl"),
    Language("pol_Latn", "pl", "Polish", "Polski", "Latn", "ltr"),
    Language("ind_Latn", "id", "Indonesian", "Bahasa Indonesia", "Latn", "ltr"),
    Language("ces_Latn", "cs", "Czech", "Čeština", "Latn", "ltr"),
    Language("heb_Hebr", "he", "Hebrew", "עברית", "Hebr", "rtl"),
    Language("hin_Deva", "hi", "Hindi", "हिन्दी", "Deva", "ltr"),
    Language("nld_Latn", "nl", "Dutch", "Nederlands", "Latn", "ltr"),
    Language("ron_Latn", "ro", "Romanian", "Română", "Latn", "ltr"),
    Language("rus_Cyrl", "ru", "Russian", "Русский", "Cyrl", "ltr"),
    Language("tur_Latn", "tr", "Turkish", "Türkçe", "Latn", "ltr"),
    Language("ukr_Cyrl", "uk", "Ukrainian", "Українська", "Cyrl", "ltr"),
    Language("vie_Latn", "vi", "Vietnamese", "Tiếng Việt", "Latn", "ltr"),
)

ENGLISH = "eng_Latn"
_BY_CODE: dict[str, Language] = {}
for _lang in LANGUAGES:
    _BY_CODE[_lang.nllb] = _lang
    _BY_CODE[_lang.iso] = _lang


def get_language(code: str) -> Language:
    """Look a language up by its NLLB code (``fra_Latn``) or ISO 639-1 code (``fr``)."""
    try:
        return _BY_CODE[code]
    except (KeyError, TypeError):
        valid = ", ".join(f"{lang.nllb}/{lang.iso}" for lang in LANGUAGES)
        raise UnknownLanguageError(f"unknown language code {code!r}; valid codes (NLLB/ISO 639-1): {valid}") from None


def is_known_language(code: str) -> bool:
    return code in _BY_CODE


def nllb_code(code: str) -> str:
    """Normalise either kind of code to the NLLB code, the form records store."""
    return get_language(code).nllb


def non_english() -> tuple[Language, ...]:
    """The 22 languages the pipeline translates into."""
    return tuple(lang for lang in LANGUAGES if lang.nllb != ENGLISH)
