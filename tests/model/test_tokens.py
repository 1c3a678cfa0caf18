"""Image tokens, tile tags and the chat template."""

from __future__ import annotations

from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from ayavision.model.chat_format import install_chat_template
from ayavision.model.tokens import (
    IMG_PATCH,
    add_multimodal_tokens,
    multimodal_tokens,
    tile_tags,
    train_tiny_tokenizer,
)


def _plain_bpe() -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    backend.train_from_iterator(["TILE one two three TILE_GLOBAL images"], trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=backend)


def test_tile_tags_split_without_being_added_and_are_single_tokens_after():
    tokenizer = _plain_bpe()
    assert len(tokenizer("TILE_12", add_special_tokens=False).input_ids) > 1  # the pitfall is real
    added = add_multimodal_tokens(tokenizer)
    assert set(added) == set(multimodal_tokens())
    for tag in [*tile_tags(), IMG_PATCH, "<|START_OF_IMG|>", "<|END_OF_IMG|>"]:
        ids = tokenizer(tag, add_special_tokens=False).input_ids
        assert len(ids) == 1, tag
        assert tokenizer.convert_ids_to_tokens(ids) == [tag]
    # Longest match: TILE_12 must not be read as TILE_1 + "2".
    ids = tokenizer("TILE_12TILE_1TILE_GLOBAL", add_special_tokens=False).input_ids
    assert tokenizer.convert_ids_to_tokens(ids) == ["TILE_12", "TILE_1", "TILE_GLOBAL"]
    assert add_multimodal_tokens(tokenizer) == []  # idempotent


def test_chat_template_places_images_first_and_masks_only_assistant_text():
    tokenizer = train_tiny_tokenizer()
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "What is it?"}, {"type": "image"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A red circle."}]},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert text == (
        "<BOS_TOKEN><|START_OF_TURN_TOKEN|><|USER_TOKEN|><image>What is it?<|END_OF_TURN_TOKEN|>"
        "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>A red circle.<|END_OF_TURN_TOKEN|>"
    )
    out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    masked = [i for i, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(masked) == "A red circle.<|END_OF_TURN_TOKEN|>"
    prompt = tokenizer.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>")


def test_a_text_only_template_is_kept_and_made_image_aware_without_new_tokens():
    tokenizer = _plain_bpe()
    own = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
    tokenizer.chat_template = own
    size = len(tokenizer)
    note = install_chat_template(tokenizer)
    assert "kept" in note and tokenizer.chat_template.endswith(own)
    assert len(tokenizer) == size  # no chat token added
    messages = [{"role": "user", "content": [{"type": "text", "text": "Which?"}, {"type": "image"}]}]
    assert tokenizer.apply_chat_template(messages, tokenize=False) == "[user] <image>Which?\n"
    assert install_chat_template(tokenizer) is None  # already image-aware: untouched
