"""Every image size gives as many <|IMG_PATCH|> tokens as the model produces image features."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from ayavision.model.processor import image_patch_tokens
from ayavision.model.tokens import tile_tags

SIZES = [(1, 1), (2000, 300), (300, 2000), (64, 64), (65, 63), (5000, 7), (7, 5000), (1000, 999), (4096, 4096)]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    model = AutoModelForImageTextToText.from_pretrained(tiny_model_dir).eval()
    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    return model, processor


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_patch_tokens_equal_image_features(tiny, width, height):
    model, processor = tiny
    image = Image.new("RGB", (width, height), (10, 200, 30))
    messages = [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "hi"}]}]
    inputs = processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    ids = inputs["input_ids"][0]
    n_patch_tokens = int((ids == model.config.image_token_index).sum())
    with torch.no_grad():
        features = model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
    assert n_patch_tokens == features.shape[0] * features.shape[1]
    assert n_patch_tokens == image_patch_tokens(height, width, processor)
    # Each tile tag is one token: one tag per tile, the global one last.
    tags = [t for t in processor.tokenizer.convert_ids_to_tokens(ids.tolist()) if t.startswith("TILE")]
    n_tiles = inputs["pixel_values"].shape[0]
    expected = [f"TILE_{i}" for i in range(1, n_tiles)] + ["TILE_GLOBAL"]
    assert tags == expected
    assert set(tags) <= set(tile_tags())
    with torch.no_grad():
        logits = model(**inputs).logits  # the model itself accepts the pairing
    assert logits.shape[1] == ids.shape[0]


def test_a_wide_image_is_cut_into_many_tiles_plus_a_thumbnail(tiny):
    _, processor = tiny
    pixel_values = processor.image_processor(Image.new("RGB", (2000, 300)), return_tensors="pt")["pixel_values"]
    assert pixel_values.shape[0] > 2  # a grid of tiles and the global thumbnail
    assert pixel_values.shape[0] <= 13
