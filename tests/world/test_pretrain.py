"""Tiny pretrained parts: a tokenizer for every script, and encoder and text-LLM folders that compose into a VLM."""

from __future__ import annotations

import json

import pytest

from ayavision.languages import LANGUAGES
from ayavision.model.tokens import END_OF_TURN, IMG_PATCH, TILE_GLOBAL
from ayavision.world.grammar import render
from ayavision.world.pretrain.tokenizer import load_world_tokenizer
from ayavision.world.translate import literal_translate
from tests.world.conftest import TINY_TEXT_LLM


def test_tokenizer_round_trips_text_in_every_script(world_tokenizer):
    tokenizer = load_world_tokenizer(world_tokenizer)
    for lang in LANGUAGES:
        for text in (
            render("object", {"a": "heart", "c": "purple", "s": "large", "p": "bottom_right"}, lang.nllb),
            render("ask_sum", {"a": "star", "b": "diamond"}, lang.nllb),
            literal_translate('The image shows the text "RIVER".', lang.nllb),
        ):
            ids = tokenizer(text, add_special_tokens=False).input_ids
            # The prefix space added to each stretch of text comes back on decoding, and only that.
            assert tokenizer.decode(ids) == " " + text, (lang.nllb, text)
            assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(tokenizer("⁂ 𝔘 emoji 🙂", add_special_tokens=False).input_ids) == " ⁂ 𝔘 emoji 🙂"


def test_tokenizer_has_the_chat_template_and_single_image_tokens(world_tokenizer):
    tokenizer = load_world_tokenizer(world_tokenizer)
    for token in (IMG_PATCH, TILE_GLOBAL, "TILE_12", END_OF_TURN):
        assert len(tokenizer(token, add_special_tokens=False).input_ids) in (1, 2)  # prefix space may stand alone
        assert token in tokenizer.get_vocab()
    chat = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Quelle est la couleur du cercle ?"}, {"role": "assistant", "content": "rouge"}],
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    answer = [i for i, m in zip(chat["input_ids"], chat["assistant_masks"], strict=True) if m]
    # The answer is the same tokens as the word in a sentence: copying it needs no respelling.
    in_sentence = tokenizer.tokenize("Couleur du cercle : rouge.")
    word = tokenizer.convert_ids_to_tokens(answer)[:-1]
    assert word[0].startswith("Ġ") and any(in_sentence[i : i + len(word)] == word for i in range(len(in_sentence)))
    assert tokenizer.convert_ids_to_tokens(answer)[-1] == END_OF_TURN


def test_parts_are_saved_with_their_scores_against_chance(world_parts):
    encoder = json.loads((world_parts["encoder"] / "world.json").read_text())
    assert encoder["chance_top1"] == 1 / 8 and 0 <= encoder["image_to_text_top1"] <= 1
    llm = json.loads((world_parts["llm"] / "world.json").read_text())
    assert 0 < llm["chance"] < 0.5 and 0 <= llm["accuracy"] <= 1 and len(llm["by_language"]) == 23
    assert (world_parts["encoder"] / "model.safetensors").is_file()
    assert json.loads((world_parts["encoder"] / "config.json").read_text())["model_type"] == "siglip"
    assert json.loads((world_parts["llm"] / "config.json").read_text())["model_type"] == "cohere2"


def test_parts_are_reused_when_their_config_is_unchanged(world_parts):
    from ayavision.world.pretrain import pretrain_text_llm

    marker = world_parts["llm"] / "world.json"
    before = marker.stat().st_mtime_ns
    pretrain_text_llm(world_parts["llm"], world_parts["tokenizer"], **TINY_TEXT_LLM)
    assert marker.stat().st_mtime_ns == before


def test_encoder_and_text_llm_compose_into_a_vlm_that_answers(world_vlm):
    from ayavision.model.generate import generate
    from ayavision.world.render import render_scene
    from ayavision.world.scene import sample_scene, seeded_rng

    composed = world_vlm
    report = composed.report
    assert report.loaded.get("vision_tower", 0) > 0 and report.loaded.get("language_model", 0) > 0
    assert not report.unexpected
    assert all("multi_modal_projector" in name for name in report.missing), report.missing
    image = render_scene(sample_scene(seeded_rng(1), "s"))
    out = generate(composed.model, composed.processor, [image], "What colour is the circle?", max_new_tokens=3)
    assert out.image_tokens > 0 and len(out.token_ids) <= 3


def test_description_text_is_plain_text_in_many_languages_with_every_token_learnt(world_tokenizer):
    from ayavision.world.pretrain.llm import encode_description

    tok = load_world_tokenizer(world_tokenizer)
    encoded = [encode_description(tok, 0, i) for i in range(12)]
    assert all(ids[0] == tok.bos_token_id and mask == [1] * len(ids) for ids, mask in encoded)
    assert encode_description(tok, 0, 3) == encoded[3]  # seeded by the item
    texts = {tok.decode(ids[1:]).strip()[:12] for ids, _ in encoded}
    assert len(texts) > 6  # different scenes and languages


def test_written_scene_questions_cover_every_language_and_are_answered_by_their_description():
    from ayavision.languages import LANGUAGES
    from ayavision.world.pretrain.scene_qa import scene_qa

    dialogues = [scene_qa(0, i, "train", 3) for i in range(400)]
    assert {d.language for d in dialogues} == {lang.nllb for lang in LANGUAGES}
    assert all(len(d.turns) == 3 for d in dialogues)
    kinds = {kind for d in dialogues for _, _, kind in d.turns}
    assert {"colour", "size", "position", "shape", "number", "yesno"} <= kinds
    # A colour, size or place asked about is written in the description, in the question's language.
    for d in dialogues:
        for _, answer, kind in d.turns:
            if kind in ("colour", "size", "position"):
                assert answer in d.description, (d.id, answer)
    held_out = {scene_qa(0, i, "eval", 1).prompt for i in range(50)}
    assert not held_out & {d.prompt for d in dialogues}


def test_crosslingual_scene_questions_are_asked_in_other_languages_and_answered_in_the_question_s():
    from ayavision.world.grammar import short_answer
    from ayavision.world.oracle import read_text, scene_answer, scene_from_text
    from ayavision.world.pretrain.scene_qa import scene_qa

    # A share of 0 leaves every dialogue as it was; a share of 1 crosses every one.
    assert [scene_qa(0, i, "train", 3, 0.0) for i in range(20)] == [scene_qa(0, i, "train", 3) for i in range(20)]
    crossed = [scene_qa(0, i, "train", 3, 1.0) for i in range(200)]
    mixed = [scene_qa(0, i, "train", 3, 0.5) for i in range(200)]
    english = 0
    for d in crossed:
        written = read_text(d.description)
        assert written is not None
        english += written.language == "eng_Latn"
        described = scene_from_text(written.pieces)
        for question, answer, kind in d.turns:
            asked = read_text(question)
            assert asked is not None
            # The answer is the true one, in the language the question is asked in.
            found = scene_answer(question, [described]) if described else None
            background = asked.question().frame == "ask_background"  # scene_from_text reads objects only
            if found is not None and not background and kind in ("colour", "size", "position"):
                assert short_answer(kind, found[1], asked.language) == answer, (d.id, question, answer)
        assert d.language == read_text(d.turns[0][0]).language
    assert 60 < english < 140  # English half the time, as the teacher describes images
    crossing = sum(read_text(d.description).language != read_text(d.turns[0][0]).language for d in mixed)
    assert 60 < crossing < 120


def test_a_text_llm_taught_written_scene_questions_reports_them_per_language(world_tokenizer, tmp_path):
    from ayavision.world.pretrain import pretrain_text_llm

    summary = pretrain_text_llm(
        tmp_path / "llm",
        world_tokenizer,
        **{**TINY_TEXT_LLM, "batch_size": 4, "scene_qa_share": 0.5, "scene_qa_eval": 46},
    )
    assert summary["scene_qa_questions"] == 46
    assert len(summary["scene_qa_by_language"]) > 15
    assert set(summary["scene_qa_by_language"]) <= {lang.nllb for lang in LANGUAGES}
    assert 0.1 < summary["scene_qa_chance"] < 0.5
    with pytest.raises(ValueError, match="scene_qa_share"):
        pretrain_text_llm(
            tmp_path / "bad", world_tokenizer, **{**TINY_TEXT_LLM, "scene_qa_share": 0.6, "description_share": 0.4}
        )


def test_the_copying_lesson_learns_only_the_repeat_and_never_repeats_a_span():
    from ayavision.world.pretrain.copying import FIRST_WORD_ID, copy_rows

    rows = copy_rows(seed=0, step=3, count=16, vocab_size=4114, bos=2)
    assert rows == copy_rows(seed=0, step=3, count=16, vocab_size=4114, bos=2)  # deterministic
    for ids, mask in rows:
        span = (len(ids) - 1) // 2
        assert ids[0] == 2 and ids[1 : 1 + span] == ids[1 + span :]
        assert mask == [0] * (1 + span) + [1] * span  # the first saying is unpredictable: not learnt
        assert 8 <= span <= 32 and min(ids[1:]) >= FIRST_WORD_ID
    # The lesson's steps (negative) and the copying rows of the lessons' steps draw different spans.
    spans = {tuple(ids) for step in (-1, -2, 1, 2) for ids, _ in copy_rows(0, step, 8, 4114, 2)}
    assert len(spans) == 32


def test_copy_loss_tells_a_model_that_copies_from_one_that_does_not():
    import torch

    from ayavision.world.pretrain.copying import copy_loss

    class Copier(torch.nn.Module):
        """Predicts the token seen ``length`` positions earlier, when there is one: a perfect copier."""

        def forward(self, input_ids):
            logits = torch.zeros(*input_ids.shape, 64)
            logits[0, 41:, :] = -20.0
            logits[0, 41:].scatter_(1, input_ids[0, 2:-39, None], 20.0)
            return type("Out", (), {"logits": logits})()

        def train(self, mode=True):
            return self

    copier = copy_loss(Copier(), vocab_size=64, bos=0)
    assert copier["repeat"] < 0.01 < copier["first"]
