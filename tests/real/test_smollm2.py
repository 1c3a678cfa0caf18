"""A VLM composed from a real chat LLM (SmolLM2-135M-Instruct, ChatML) keeps its chat format, stop tokens, answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers import AutoModelForCausalLM, AutoTokenizer

from ayavision.model.chat_format import CHAT_TOKENS, content_format
from ayavision.model.generate import generate
from ayavision.model.store import load_pretrained
from ayavision.model.tokens import IMG_PATCH, multimodal_tokens

pytestmark = pytest.mark.real

QUESTIONS = ["What is the capital of France?", "Name three primary colours.", "Translate 'good morning' into French."]
CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Capital of Italy?"}],
    [
        {"role": "user", "content": "Hi!"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a colour."},
    ],
]


@pytest.fixture(scope="module")
def llm(smollm2_dir: Path):
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(smollm2_dir)


@pytest.fixture(scope="module")
def vlm(smollm2_vlm_dir: Path):
    return load_pretrained(smollm2_vlm_dir)


def _as_parts(conversation: list[dict]) -> list[dict]:
    return [{**m, "content": [{"type": "text", "text": m["content"]}]} for m in conversation]


def llm_answer(llm, question: str, max_new_tokens: int = 24) -> str:
    model, tokenizer = llm
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    return tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)


def test_text_only_prompts_render_exactly_as_smollm2s_template_and_no_chat_token_is_added(llm, vlm, smollm2_vlm_dir):
    _, tokenizer = llm
    _, processor = vlm
    for conversation in CONVERSATIONS:
        for generation_prompt in (True, False):
            theirs = tokenizer.apply_chat_template(
                conversation, tokenize=False, add_generation_prompt=generation_prompt
            )
            for form in (conversation, _as_parts(conversation)):  # string content and OpenAI-style text parts
                ours = processor.apply_chat_template(form, tokenize=False, add_generation_prompt=generation_prompt)
                assert ours == theirs
    assert "<|im_start|>system\nYou are a helpful AI assistant named SmolLM" in ours  # its default system prompt
    template = {"tokenize": True, "return_dict": True, "add_generation_prompt": True}
    ours_ids = processor.apply_chat_template(CONVERSATIONS[2], **template)["input_ids"]
    assert ours_ids[0] == tokenizer.apply_chat_template(CONVERSATIONS[2], **template)["input_ids"]
    vocab = processor.tokenizer.get_vocab()
    assert not any(token in vocab for token in CHAT_TOKENS)
    added = set(vocab) - set(tokenizer.get_vocab())
    assert added == set(multimodal_tokens(4))  # only the image tokens and the tile tags are new
    assert all(vocab[t] == i for t, i in tokenizer.get_vocab().items())  # existing ids unchanged
    record = json.loads((smollm2_vlm_dir / "ayavision_build.json").read_text())
    assert set(record["report"]["added_tokens"]) == added
    # The LLM's own stop token ends answers.
    assert processor.tokenizer.convert_ids_to_tokens(vlm[0].generation_config.eos_token_id) == "<|im_end|>"


def test_the_vlm_answers_text_questions_with_smollm2s_own_words(llm, vlm):
    model, processor = vlm
    for question in QUESTIONS:
        ours = generate(model, processor, [], question, max_new_tokens=24).text
        assert ours == llm_answer(llm, question), question
    assert "Paris" in generate(model, processor, [], QUESTIONS[0], max_new_tokens=24).text


def test_an_image_prompt_has_as_many_image_tokens_as_the_encoder_gives_features(vlm):
    model, processor = vlm
    image = Image.new("RGB", (150, 70), (200, 40, 40))
    messages = [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "Colour?"}]}]
    inputs = processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    text = processor.tokenizer.decode(inputs["input_ids"][0])
    assert text.startswith("<|im_start|>system\n") and "<|im_start|>user\n<|START_OF_IMG|>TILE_1" in text
    with torch.inference_mode():
        features = model.model.get_image_features(pixel_values=inputs["pixel_values"])
    rows = features.pooler_output.reshape(-1, model.config.text_config.hidden_size).shape[0]
    patch_id = processor.tokenizer.convert_tokens_to_ids(IMG_PATCH)
    assert model.config.image_token_index == patch_id
    assert int((inputs["input_ids"] == patch_id).sum()) == rows
    out = model.generate(**inputs, max_new_tokens=3, do_sample=False)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 3 or processor.tokenizer.eos_token_id in out[0].tolist()


def test_the_vlm_template_takes_openai_content_in_vllms_eyes(llm, vlm):
    assert content_format(vlm[1].chat_template) == "openai"
    assert content_format(llm[1].chat_template) == "string"  # SmolLM2's own: string content only
