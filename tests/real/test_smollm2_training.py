"""Training and merging a VLM built on SmolLM2: only assistant tokens are supervised; alpha 0 gives SmolLM2 back."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers import AutoModelForCausalLM, AutoTokenizer

from ayavision.data import ConversationRecord
from ayavision.merge import merge_checkpoints
from ayavision.model.generate import generate
from ayavision.model.store import load_pretrained
from ayavision.model.tokens import IMG_PATCH
from ayavision.testing.datasets import make_dataset
from ayavision.train.config import load_train_recipe
from ayavision.train.mixture import SourcedRecord
from ayavision.train.samples import IGNORE, SampleBuilder
from ayavision.train.trainer import train_stage

from ..train.recipes import stage, write_recipe
from .test_smollm2 import QUESTIONS, llm_answer

pytestmark = [pytest.mark.real, pytest.mark.slow]


def _record(tmp_path: Path) -> SourcedRecord:
    Image.new("RGB", (90, 60), (30, 180, 60)).save(tmp_path / "shape.png")
    record = ConversationRecord.model_validate(
        {
            "id": "two-turns",
            "images": ["shape.png"],
            "messages": [
                {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What colour is it?"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "It is green."}]},
                {"role": "user", "content": [{"type": "text", "text": "And its shape?"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "A rectangle."}]},
            ],
            "language": "eng_Latn",
            "task": "vqa",
            "source": "test",
            "bucket": "original",
        }
    )
    return SourcedRecord(record, tmp_path)


def test_exactly_the_assistant_answers_and_their_end_of_turn_are_supervised(smollm2_vlm_dir, tmp_path):
    model, processor = load_pretrained(smollm2_vlm_dir)
    builder = SampleBuilder(processor, seq_len=4096, stop_ids=model.generation_config.eos_token_id)
    sample = builder.build(_record(tmp_path))
    assert sample is not None
    tokenizer = processor.tokenizer
    # targets[t] is the token at t + 1; group the supervised positions into runs, one per assistant turn.
    runs, current = [], []
    for position, target in enumerate(sample.targets):
        if target != IGNORE:
            current.append(sample.input_ids[position + 1])
        elif current:
            runs.append(current)
            current = []
    assert [tokenizer.decode(run) for run in runs] == ["It is green.<|im_end|>", "A rectangle.<|im_end|>"]
    assert tokenizer.convert_tokens_to_ids(IMG_PATCH) in sample.input_ids  # the image is in the prompt
    text = tokenizer.decode(sample.input_ids)
    assert text.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert "<|im_start|>assistant\nIt is green.<|im_end|>\n<|im_start|>user\nAnd its shape?" in text


def test_one_sft_step_then_the_alpha_0_merge_answers_as_smollm2(smollm2_dir, smollm2_vlm_dir, tmp_path):
    data = make_dataset(tmp_path / "data", 4)
    recipe = load_train_recipe(
        write_recipe(tmp_path, {"original": data}, {"sft": stage({"original": 1.0}, max_steps=1, save_every=10)})
    )
    result = train_stage(recipe, "sft", tmp_path / "sft", init=smollm2_vlm_dir, max_steps=1, quiet=True)
    assert result.steps == 1 and all(torch.isfinite(torch.tensor(result.losses)))
    before, _ = load_pretrained(smollm2_vlm_dir)
    after, processor = load_pretrained(result.model_dir)
    changed = [
        n
        for (n, a), (_, b) in zip(before.state_dict().items(), after.state_dict().items(), strict=True)
        if not torch.equal(a, b)
    ]
    assert any("language_model" in n for n in changed)  # the step trained the LLM
    merged = merge_checkpoints(result.model_dir, smollm2_dir, tmp_path / "alpha-0", alpha=0.0).folders[0.0]
    model, processor = load_pretrained(merged)
    llm = (
        AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32).eval(),
        AutoTokenizer.from_pretrained(smollm2_dir),
    )
    for question in QUESTIONS[:2]:
        assert generate(model, processor, [], question, max_new_tokens=24).text == llm_answer(llm, question)
