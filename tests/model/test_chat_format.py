"""Chat formats of composed models: the LLM's own template made image-aware, assistant masks from any template, and
the content format vLLM detects for every template the project writes."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from ayavision.model.chat_format import (
    COHERE_CHAT_TEMPLATE,
    PLAIN_CHAT_TEMPLATE,
    ChatFormatError,
    content_format,
    encode_conversation,
    image_aware,
    install_chat_template,
    plan_conversation,
)
from ayavision.model.processor import build_processor
from ayavision.model.tokens import IMG_PATCH, add_multimodal_tokens, train_tiny_tokenizer

# The released templates of real LLM families, as their tokenizer_config.json carries them.
CHATML = (  # Qwen2 / Qwen2.5 (SmolLM2 has the same shape with its own default system prompt)
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
LLAMA3 = (  # Meta-Llama-3-8B-Instruct
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim "
    "+ '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
GEMMA = (  # gemma-2-2b-it
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)
# Each family: its template, its turn tokens (specials of its tokenizer), bos, the token that ends an answer.
FAMILIES = {
    "chatml": (CHATML, ["<|im_start|>", "<|im_end|>"], None, "<|im_end|>"),
    "llama3": (LLAMA3, ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], "<|begin_of_text|>", "<|eot_id|>"),
    "gemma": (GEMMA, ["<start_of_turn>", "<end_of_turn>"], "<bos>", "<end_of_turn>"),
}
# The template this project wrote before vLLM compatibility: it looped over a copy named `parts`.
OLD_PARTS_TEMPLATE = (
    "{% for message in messages %}{% if message['content'] is string %}"
    "{% set parts = [{'type': 'text', 'text': message['content']}] %}{% else %}{% set parts = message['content'] %}"
    "{% endif %}{% for part in parts %}{{ part['text'] }}{% endfor %}{% endfor %}"
)

CONVERSATION = [
    {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What colour is it?"}]},
    {"role": "assistant", "content": [{"type": "text", "text": "It is green."}]},
    {"role": "user", "content": [{"type": "text", "text": "And its shape?"}]},
    {"role": "assistant", "content": [{"type": "text", "text": "A square."}]},
]


def _tokenizer(specials: list[str], bos: str | None, eos: str) -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(["What colour is it? It is green. And its shape? A square. user assistant"], trainer)
    kwargs = {"bos_token": bos} if bos else {}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token=eos, **kwargs)
    if bos:
        tokenizer.add_special_tokens({"bos_token": bos})
    return tokenizer


def _processor(tokenizer):
    add_multimodal_tokens(tokenizer, 2)
    install_chat_template(tokenizer)
    return build_processor(tokenizer, tile_size=32, patch_size=8, downsample_factor=2, max_tiles=2)


def _answers(encoded, tokenizer) -> list[str]:
    runs, current = [], []
    for token, masked in zip(encoded.input_ids, encoded.assistant_mask, strict=True):
        if masked:
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    return [tokenizer.decode(run) for run in [*runs, current] if run]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_an_llm_template_is_kept_text_identical_and_its_answers_masked_through_the_stop_token(family):
    template, specials, bos, stop = FAMILIES[family]
    tokenizer = _tokenizer(specials, bos, stop)
    tokenizer.chat_template = template
    text_only = [{"role": "user", "content": "And its shape?"}, {"role": "assistant", "content": "A square."}]
    theirs = tokenizer.apply_chat_template(text_only, tokenize=False)
    processor = _processor(tokenizer)
    assert processor.chat_template == image_aware(template) and processor.chat_template.endswith(template)
    assert processor.apply_chat_template(text_only, tokenize=False) == theirs  # byte for byte
    image = Image.new("RGB", (40, 70), (30, 180, 60))
    messages = [dict(m) for m in CONVERSATION]
    messages[0] = {"role": "user", "content": [{"type": "image", "image": image}, CONVERSATION[0]["content"][1]]}
    encoded = encode_conversation(processor, messages, [tokenizer.convert_tokens_to_ids(stop)])
    assert _answers(encoded, processor.tokenizer) == [f"It is green.{stop}", f"A square.{stop}"]
    patch = processor.tokenizer.convert_tokens_to_ids(IMG_PATCH)
    assert encoded.input_ids.count(patch) == encoded.pixel_values.shape[0] * 4  # 2x2 tokens per 32 px tile
    assert not any(m and i == patch for i, m in zip(encoded.input_ids, encoded.assistant_mask, strict=True))


def test_answers_after_several_images_are_found_and_planning_from_sizes_gives_the_same_tokens():
    tokenizer = train_tiny_tokenizer()
    processor = build_processor(tokenizer, tile_size=32, patch_size=8, downsample_factor=2, max_tiles=4)
    images = [Image.new("RGB", (120, 60), (200, 0, 0)), Image.new("RGB", (40, 70), (0, 200, 0))]
    messages = [
        {"role": "user", "content": [{"type": "image", "image": images[0]}, {"type": "image", "image": images[1]}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Red, then green."}]},
        {"role": "user", "content": [{"type": "image", "image": images[0]}, {"type": "text", "text": "Again?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Red."}]},
    ]
    encoded = encode_conversation(processor, messages, [tokenizer.eos_token_id])
    # Each answer sits after two, then three, expanded images: the shift counts every image once.
    assert _answers(encoded, tokenizer) == ["Red, then green.<|END_OF_TURN_TOKEN|>", "Red.<|END_OF_TURN_TOKEN|>"]
    planned, tiles = plan_conversation(
        processor, messages, [tokenizer.eos_token_id], [(im.height, im.width) for im in (*images, images[0])]
    )
    assert planned.input_ids == encoded.input_ids and planned.assistant_mask == encoded.assistant_mask
    assert planned.pixel_values is None and sum(tiles) == encoded.pixel_values.shape[0]


def test_the_cohere_template_masks_its_answers_as_its_generation_marks_do():
    tokenizer = train_tiny_tokenizer()
    processor = build_processor(tokenizer, tile_size=32, patch_size=8, downsample_factor=2, max_tiles=2)
    text_messages = [{**m, "content": [p for p in m["content"] if p["type"] == "text"]} for m in CONVERSATION]
    marks = tokenizer.apply_chat_template(
        text_messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    encoded = encode_conversation(processor, text_messages, [tokenizer.eos_token_id])
    assert encoded.input_ids == marks["input_ids"] and encoded.assistant_mask == marks["assistant_masks"]
    assert _answers(encoded, tokenizer) == ["It is green.<|END_OF_TURN_TOKEN|>", "A square.<|END_OF_TURN_TOKEN|>"]


def test_a_template_that_rewrites_earlier_turns_is_refused_with_the_turn():
    tokenizer = _tokenizer(["<|im_start|>", "<|im_end|>"], None, "<|im_end|>")
    # Renders only the last assistant answer in full (as reasoning templates strip earlier thoughts).
    tokenizer.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'assistant' and not loop.last %}[answer]"
        "{% else %}{{ m['content'] }}<|im_end|>{% endif %}{% endfor %}"
    )
    processor = _processor(tokenizer)
    text_messages = [{**m, "content": [p for p in m["content"] if p["type"] == "text"]} for m in CONVERSATION]
    with pytest.raises(ChatFormatError, match="turn 1"):
        encode_conversation(processor, text_messages, [tokenizer.eos_token_id])


def test_a_base_llm_without_template_gets_a_plain_one_and_no_token():
    tokenizer = _tokenizer([], "<s>", "</s>")
    size = len(tokenizer)
    note = install_chat_template(tokenizer)
    assert "plain-text" in note and tokenizer.chat_template == PLAIN_CHAT_TEMPLATE and len(tokenizer) == size
    text = tokenizer.apply_chat_template(CONVERSATION[:2], tokenize=False, add_generation_prompt=False)
    assert text == "<s>User: <image>What colour is it?\n\nAssistant: It is green.</s>\n\n"


def test_vllm_detects_openai_content_for_every_template_the_project_writes(tiny_model_dir):
    written = {
        "cohere": COHERE_CHAT_TEMPLATE,
        "plain": PLAIN_CHAT_TEMPLATE,
        "tiny preset folder": (tiny_model_dir / "chat_template.jinja").read_text(encoding="utf-8"),
        **{f"{name} made image-aware": image_aware(t) for name, (t, *_) in FAMILIES.items()},
    }
    for name, template in written.items():
        assert content_format(template) == "openai", name
    # The rule is not trivially "openai": text LLM templates and the old `parts` loop are "string".
    for name, (template, *_) in FAMILIES.items():
        assert content_format(template) == "string", name
    assert content_format(OLD_PARTS_TEMPLATE) == "string"
    # Templates that loop over content through a renamed messages list, or a `content` variable, count too.
    renamed = "{% set msgs = messages[1:] %}{% for m in msgs %}{% for c in m.content %}{{ c }}{% endfor %}{% endfor %}"
    assert content_format(renamed) == "openai"
    assert content_format("{% for c in content %}{{ c }}{% endfor %}") == "openai"


def test_starting_from_an_aya_vision_folder_keeps_its_template(tiny_model_dir, tmp_path):
    import shutil

    from ayavision.model.compose import compose
    from ayavision.model.spec import ModelSpec

    folder = tmp_path / "released-like"
    shutil.copytree(tiny_model_dir, folder)
    own = image_aware("{% for m in messages %}<<{{ m['role'] }}>>{{ m['content'] }}{% endfor %}")
    (folder / "chat_template.jinja").write_text(own, encoding="utf-8")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    composed = compose(ModelSpec(base=folder))
    assert composed.processor.chat_template == own
    assert composed.report.added_tokens == []
