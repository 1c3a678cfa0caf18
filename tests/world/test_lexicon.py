"""Every language writes every sentence form, in its own script and direction, and reads it back."""

from __future__ import annotations

import re
import unicodedata

import pytest

from ayavision.languages import LANGUAGES, get_language
from ayavision.world.corpus import random_slots
from ayavision.world.frames import FRAMES
from ayavision.world.grammar import RenderError, parse, render, short_answer, variant_count
from ayavision.world.lexicon import PLACEHOLDER, load_lexicon, variants_of
from ayavision.world.samples import check_lexicons
from ayavision.world.scene import seeded_rng
from ayavision.world.translate import ENGLISH, glossary, literal_translate

CODES = [lang.nllb for lang in LANGUAGES]
# A letter of each registry script, by Unicode name: a language's sentences must be mostly in its own script.
SCRIPT_WORD = {
    "Latn": "LATIN",
    "Cyrl": "CYRILLIC",
    "Grek": "GREEK",
    "Arab": "ARABIC",
    "Hebr": "HEBREW",
    "Deva": "DEVANAGARI",
    "Hang": "HANGUL",
    "Hans": "CJK",
    "Jpan": ("CJK", "HIRAGANA", "KATAKANA"),
}


def test_all_23_languages_have_a_lexicon_in_their_registry_direction():
    for lang in LANGUAGES:
        lexicon = load_lexicon(lang.iso)
        assert lexicon.language == lang.nllb
        assert lexicon.direction == lang.direction


@pytest.mark.parametrize("code", CODES)
def test_every_frame_renders_without_a_missing_word_and_reads_back(code):
    rng = seeded_rng("lexicon-test", code)
    for frame in FRAMES:
        for variant in range(variant_count(frame, code)):
            for _ in range(4):
                slots = random_slots(rng, frame)
                text = render(frame, slots, code, variant)
                assert "{" not in text and "}" not in text and "None" not in text, text
                back = parse(text, code)
                assert len(back) == 1 and back[0].frame == frame and back[0].slots == slots, (text, back)


def test_check_lexicons_covers_every_language_and_frame():
    rendered = check_lexicons()
    assert set(rendered) == set(CODES)
    assert all(set(forms) == set(FRAMES) for forms in rendered.values())


@pytest.mark.parametrize("code", CODES)
def test_sentences_are_written_in_the_languages_own_script(code):
    script = get_language(code).script
    wanted = SCRIPT_WORD[script] if isinstance(SCRIPT_WORD[script], tuple) else (SCRIPT_WORD[script],)
    text = " ".join(render(f, random_slots(seeded_rng(code, f), f), code) for f in FRAMES if f not in ("text_says",))
    letters = [c for c in text if c.isalpha()]
    native = [c for c in letters if unicodedata.name(c, "").startswith(wanted)]
    assert len(native) / len(letters) > 0.9, f"{code}: {len(native)}/{len(letters)} letters in {script}"


def test_right_to_left_languages_are_marked_and_written_right_to_left():
    rtl = {lang.nllb for lang in LANGUAGES if lang.is_rtl}
    assert rtl == {"arb_Arab", "pes_Arab", "heb_Hebr"}
    for code in CODES:
        text = render("count_all", {"n": 3}, code)
        strong = [unicodedata.bidirectional(c) for c in text if unicodedata.bidirectional(c) in ("L", "R", "AL")]
        rtl_share = sum(kind in ("R", "AL") for kind in strong) / len(strong)
        assert (rtl_share > 0.9) == (code in rtl), code


def test_paragraphs_of_several_sentences_split_back_into_frames():
    for code in CODES:
        sentences = [
            render("object", {"a": "star", "c": "red", "s": "small", "p": "top"}, code),
            render("count_all", {"n": 3}, code),
            render("left_of", {"a": "star", "b": "heart"}, code),
        ]
        joiner = "" if load_lexicon(code).spaceless else " "
        assert [p.frame for p in parse(joiner.join(sentences), code)] == ["object", "count_all", "left_of"], code


def test_gloss_covers_every_english_template_word_in_every_language():
    english = load_lexicon(ENGLISH)
    words = set()
    for template in english.frames.values():
        for text in variants_of(template):
            words |= {w.casefold() for w in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", PLACEHOLDER.sub(" ", text))}
    for entry in english.positions.values():
        words |= {w.casefold() for w in re.findall(r"[A-Za-z]+", " ".join(entry.values()))}  # type: ignore[union-attr]
    for code in CODES[1:]:
        missing = words - set(load_lexicon(code).gloss)
        assert not missing, f"{code} has no gloss for {sorted(missing)}"


def test_literal_translation_leaves_no_english_template_word_untranslated():
    text = render("object", {"a": "heart", "c": "blue", "s": "medium", "p": "bottom_left"}, ENGLISH, 2)
    english_words = {w.casefold() for w in re.findall(r"[A-Za-z-]+", text)}
    for code in ("fra_Latn", "rus_Cyrl", "jpn_Jpan", "arb_Arab"):
        glossed = literal_translate(text, code)
        table = glossary(code)
        kept = {w.casefold() for w in re.findall(r"[A-Za-z-]+", glossed)}
        # An English word may survive only where the language writes it the same way (French "orange").
        assert all(table[w] == w for w in kept & english_words), glossed
        if code != "fra_Latn":
            assert not re.search(r"[A-Za-z]{2,}", glossed), glossed


def test_short_answers_are_the_words_written_in_descriptions():
    assert short_answer("colour", "red", "fra_Latn") == "rouge"
    assert short_answer("number", 3, "jpn_Jpan") == "3"
    assert short_answer("yesno", False, "deu_Latn") == "nein"
    assert "rouge" in render("colour_of", {"a": "circle", "c": "red"}, "fra_Latn")


def test_rendering_refuses_values_outside_the_world():
    with pytest.raises(RenderError, match="magenta"):
        render("colour_of", {"a": "circle", "c": "magenta"}, "fra_Latn")
    with pytest.raises(RenderError, match="needs slot"):
        render("colour_of", {"a": "circle"}, "fra_Latn")
