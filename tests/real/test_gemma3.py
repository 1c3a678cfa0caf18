"""A VLM composed from a real base LLM (Gemma 3 270M: no chat template, scaled embeddings) continues text as it does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers import AutoModelForCausalLM, AutoTokenizer

from ayavision.merge import merge_checkpoints
from ayavision.model.chat_format import PLAIN_CHAT_TEMPLATE, content_format
from ayavision.model.store import load_pretrained
from ayavision.model.tokens import IMG_PATCH, multimodal_tokens

pytestmark = [pytest.mark.real, pytest.mark.slow]

TEXTS = ["The capital of France is", "Die Hauptstadt von Deutschland ist", "日本の首都は", "La couleur du ciel est"]


@pytest.fixture(scope="module")
def llm(gemma3_dir: Path):
    return AutoModelForCausalLM.from_pretrained(gemma3_dir, dtype=torch.float32).eval(), AutoTokenizer.from_pretrained(
        gemma3_dir
    )


def _continuations(model, tokenizer, max_new_tokens: int = 12) -> list[list[int]]:
    out = []
    for text in TEXTS:
        ids = tokenizer(text, return_tensors="pt").input_ids  # Gemma's tokenizer adds <bos>
        with torch.inference_mode():
            generated = model.generate(input_ids=ids, max_new_tokens=max_new_tokens, do_sample=False)
        out.append(generated[0, ids.shape[1] :].tolist())
    return out


def test_a_base_llm_gets_a_plain_template_and_only_image_tokens_are_new(llm, gemma3_vlm_dir):
    _, tokenizer = llm
    assert tokenizer.chat_template is None  # Gemma 3 270M is a base model
    _, processor = load_pretrained(gemma3_vlm_dir)
    assert processor.chat_template == PLAIN_CHAT_TEMPLATE and content_format(processor.chat_template) == "openai"
    assert set(processor.tokenizer.get_vocab()) - set(tokenizer.get_vocab()) == set(multimodal_tokens(4))
    text = processor.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text == "<bos>User: Hi\n\nAssistant:"
    notes = json.loads((gemma3_vlm_dir / "ayavision_build.json").read_text())["report"]["notes"]
    assert any("plain-text" in note for note in notes)


def test_plain_text_continues_exactly_as_gemma_through_the_vlm(llm, gemma3_vlm_dir):
    model, tokenizer = llm
    vlm, processor = load_pretrained(gemma3_vlm_dir)
    assert vlm.config.text_config.final_logit_softcapping == model.config.final_logit_softcapping
    ids = tokenizer(TEXTS[0], return_tensors="pt").input_ids
    assert processor.tokenizer(TEXTS[0], return_tensors="pt").input_ids.tolist() == ids.tolist()
    with torch.inference_mode():
        theirs = model(input_ids=ids).logits
        ours = vlm(input_ids=ids).logits[..., : theirs.shape[-1]]
    # Gemma scales its embeddings by sqrt(hidden): forgetting it inside the VLM would change every logit.
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)
    assert _continuations(vlm, processor.tokenizer) == _continuations(model, tokenizer)


def test_image_tokens_equal_features_and_the_alpha_0_merge_continues_as_gemma(
    llm, gemma3_dir, gemma3_vlm_dir, tmp_path
):
    vlm, processor = load_pretrained(gemma3_vlm_dir)
    image = Image.new("RGB", (64, 130), (40, 60, 220))
    messages = [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "Colour?"}]}]
    inputs = processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    with torch.inference_mode():
        features = vlm.model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
        vlm(**inputs)  # the image features go into the LLM's scaled embeddings without error
    patch_id = processor.tokenizer.convert_tokens_to_ids(IMG_PATCH)
    assert int((inputs["input_ids"] == patch_id).sum()) == features.reshape(-1, features.shape[-1]).shape[0]

    merged = merge_checkpoints(gemma3_vlm_dir, gemma3_dir, tmp_path / "alpha-0", alpha=0.0, hash_inputs=False)
    model, processor = load_pretrained(merged.folders[0.0])
    reference_model, tokenizer = llm
    assert _continuations(model, processor.tokenizer) == _continuations(reference_model, tokenizer)
