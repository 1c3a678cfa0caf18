"""The demo backends answer the steps' real prompts: rich recaptions, caught hallucinations, translations, verdicts."""

from __future__ import annotations

import asyncio

import pytest

from ayavision.annotate.templates import (
    JUDGE_FIELDS,
    RECAPTION_FIELDS,
    REPHRASE_FIELDS,
    TRANSLATE_FIELDS,
    load_template,
)
from ayavision.backends import BackendError, ChatRequest, create_backend
from ayavision.evaluate import JudgePrompt, parse_verdict
from ayavision.world.grammar import parse, render, short_answer
from ayavision.world.render import encode_png
from ayavision.world.scene import sample_scene, seeded_rng
from ayavision.world.teacher import check_text, corrupts
from ayavision.world.translate import chrf, literal_translate, natural_translate


def _ask(backend, content, system: str | None = None, max_tokens: int = 1024, **hints):
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": content}]
    return asyncio.run(backend.chat(ChatRequest(messages=messages, max_tokens=max_tokens, hints=hints))).text


def _scene(index: int = 0):
    scene = sample_scene(seeded_rng("backend-test", index), f"bt{index}", with_text=index % 3 == 0)
    return scene, encode_png(scene)


def _recaption_prompt(template: str, instruction: str, answer: str) -> str:
    return load_template(f"recaption/{template}", RECAPTION_FIELDS).render(instruction=instruction, answer=answer)


def test_teacher_recaptions_are_richer_and_all_true():
    teacher = create_backend("world-teacher")
    for index in range(12):
        scene, png = _scene(index)
        prompt = _recaption_prompt("captioning", "Write a short caption for the image.", "A caption.")
        reply = _ask(teacher, [{"type": "image", "image": png}, {"type": "text", "text": prompt}])
        assert reply.startswith("<answer>") and reply.endswith("</answer>")
        pieces = parse(reply[len("<answer>") : -len("</answer>")], "eng_Latn")
        true, false, unread = check_text(pieces, [scene])
        assert false == 0 and unread == 0 and true >= 3 + len(scene.objects)


def test_teacher_answers_the_question_it_is_asked_with_the_truth():
    teacher = create_backend("world-teacher")
    scene, png = _scene(1)
    shape = scene.objects[0].shape if scene.the(scene.objects[0].shape) else None
    if shape is None:
        pytest.skip("first object's shape repeats")
    prompt = _recaption_prompt("vqa", f"What colour is the {shape}?", "x")
    reply = _ask(teacher, [{"type": "image", "image": png}, {"type": "text", "text": prompt}])
    first = parse(reply[8:-9], "eng_Latn")[0]
    assert first.frame == "colour_of" and first.slots == {"a": shape, "c": scene.the(shape).colour}
    # Asked plainly, in French, it answers in French with the short answer.
    question = render("ask_colour", {"a": shape}, "fra_Latn")
    assert _ask(teacher, [{"type": "image", "image": png}, {"type": "text", "text": question}]) == short_answer(
        "colour", scene.the(shape).colour, "fra_Latn"
    )


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.35])
def test_hallucination_injection_rate_matches_its_setting(rate):
    n = 3000
    hits = sum(corrupts(4, rate, [f"scene{i}"], "Describe the image in detail.") for i in range(n))
    assert abs(hits / n - rate) < 3 * (rate * (1 - rate) / n) ** 0.5 + 1e-9


def test_the_filter_judge_catches_exactly_the_corrupted_recaptions():
    teacher = create_backend("world-teacher", hallucination_rate=0.5, seed=3)
    judge = create_backend("world-judge")
    judge_template = load_template("judge", JUDGE_FIELDS)
    outcomes = []
    for index in range(30):
        scene, png = _scene(index)
        instruction = "Describe the image in detail."
        recaption = _ask(
            teacher,
            [
                {"type": "image", "image": png},
                {"type": "text", "text": _recaption_prompt("captioning", instruction, "x")},
            ],
        )[8:-9]
        prompt = judge_template.render(instruction=instruction, answer="x", recaption=recaption)
        verdict = _ask(judge, [{"type": "image", "image": png}, {"type": "text", "text": prompt}], max_tokens=16)
        outcomes.append((corrupts(3, 0.5, [scene.id], instruction), verdict))
    assert any(c for c, _ in outcomes) and not all(c for c, _ in outcomes)
    assert all((verdict == "NO") == corrupted for corrupted, verdict in outcomes)


def test_literal_translation_is_translationese_that_rephrasing_fixes():
    english = "There are 3 shapes in the image. A small red star sits in the top left corner."
    translator, rephraser = create_backend("world-translator"), create_backend("world-rephraser")
    system = load_template("translate", TRANSLATE_FIELDS).render(source_language="English", target_language="German")
    literal = _ask(translator, english, system=system, tgt_lang="deu_Latn", src_lang="eng_Latn")
    assert literal == literal_translate(english, "deu_Latn")
    # Without hints the target language is read from the prompt.
    assert _ask(translator, english, system=system) == literal
    prompt = load_template("rephrase", REPHRASE_FIELDS).render(
        source_language="English",
        target_language="Chinese (Simplified)",
        source=english,
        translation=literal_translate(english, "zho_Hans"),
    )
    rephrased = _ask(rephraser, prompt)
    natural = natural_translate(english, "zho_Hans")[0]
    assert rephrased == f"<translation>{natural}</translation>"
    assert chrf(literal_translate(english, "zho_Hans"), natural) < 50 < chrf(natural, natural)


def test_pairwise_judge_prefers_the_correct_answer_and_ties_otherwise():
    judge = create_backend("world-judge")
    scene, png = _scene(2)
    question = render("ask_count_all", {}, "spa_Latn")
    right, wrong = str(scene.count()), str(scene.count() + 1)
    prompt = JudgePrompt.load()
    cases = [((right, wrong), "A>>B"), ((wrong, right), "B>>A"), ((right, right), "A=B"), ((wrong, wrong), "A=B")]
    for reference in (right, None):  # by the reference, and without one by the scene itself
        for (a, b), expected in cases:
            messages = prompt.messages(question, a, b, [png], reference)
            reply = asyncio.run(judge.chat(ChatRequest(messages=messages, max_tokens=200))).text
            assert parse_verdict(reply) == expected, (reference, a, b, reply)


def test_unknown_options_and_foreign_images_are_clear_errors():
    with pytest.raises(ValueError, match="bogus"):
        create_backend("world-teacher", bogus=1)
    with pytest.raises(ValueError, match="hallucination_rate"):
        create_backend("world-teacher", hallucination_rate=2)
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    with pytest.raises(BackendError, match=r"only images made by ayavision\.world"):
        _ask(
            create_backend("world-teacher"),
            [{"type": "image", "image": buffer.getvalue()}, {"type": "text", "text": "?"}],
        )
    assert "world_version" in create_backend("world-judge").identity()
