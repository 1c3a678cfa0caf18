"""Loading AyaVision folders alike on every transformers 5.x (whose head began to apply logit_scale in 5.25)."""

from __future__ import annotations

import json

import torch
from transformers import AutoModelForCausalLM

from ayavision.model.compat import HEAD_APPLIES_LOGIT_SCALE, complete_text_config, logit_scale_note
from ayavision.model.compose import compose
from ayavision.model.spec import ConnectorSpec, LLMSpec, ModelSpec, VisionSpec
from ayavision.model.store import load_pretrained, save_composed

from .helpers import save_causal_lm, save_siglip


def _compose(tmp_path, model_type: str, **overrides):
    llm_dir = save_causal_lm(tmp_path / model_type, model_type, **overrides)
    spec = ModelSpec(
        vision=VisionSpec(checkpoint=save_siglip(tmp_path / "siglip", with_text_tower=False)),
        llm=LLMSpec(checkpoint=llm_dir),
        connector=ConnectorSpec(intermediate_size=64),
    )
    return llm_dir, spec, compose(spec)


def test_a_folder_saved_without_logit_scale_loads_and_runs(tmp_path):
    # A Llama text config has no logit_scale; folders written before this fix (and by others) lack it.
    _, spec, composed = _compose(tmp_path, "llama")
    assert composed.model.config.text_config.logit_scale == 1.0  # written into every config we save
    folder = save_composed(composed, tmp_path / "vlm", spec)
    config = json.loads((folder / "config.json").read_text())
    assert config["text_config"]["logit_scale"] == 1.0
    del config["text_config"]["logit_scale"]
    (folder / "config.json").write_text(json.dumps(config))

    model, _ = load_pretrained(folder)
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        logits = model(input_ids=ids).logits
        expected = model.lm_head(model.model.language_model(input_ids=ids).last_hidden_state)
    torch.testing.assert_close(logits, expected)  # scaled by 1.0 on every version


def test_a_cohere_llm_keeps_its_logit_scale_and_the_report_says_what_this_version_does(tmp_path):
    llm_dir, _, composed = _compose(tmp_path, "cohere2", tie=True, logit_scale=0.25)
    assert composed.model.config.text_config.logit_scale == 0.25
    note = logit_scale_note(composed.model.config.text_config)
    assert note is not None and "logit_scale=0.25" in note
    assert ("so does the AyaVision head" in note) == HEAD_APPLIES_LOGIT_SCALE
    llm = AutoModelForCausalLM.from_pretrained(llm_dir).eval()
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        vlm_logits = composed.model(input_ids=ids).logits
        llm_logits = llm(input_ids=ids).logits
    scale = 1.0 if HEAD_APPLIES_LOGIT_SCALE else 0.25  # what the head left out, if anything
    rows = llm_logits.shape[-1]  # the VLM's vocabulary adds the image tokens after the LLM's
    torch.testing.assert_close(vlm_logits[..., :rows] * scale, llm_logits, atol=1e-5, rtol=1e-4)


def test_complete_text_config_leaves_a_set_scale_alone():
    from transformers import CohereConfig, LlamaConfig

    assert complete_text_config(LlamaConfig()).logit_scale == 1.0
    assert complete_text_config(CohereConfig(logit_scale=0.0625)).logit_scale == 0.0625


def test_training_loss_applies_the_llms_logit_scale(tmp_path):
    # Cohere LLMs are trained with their logit_scale (and vLLM applies it): the training loss must be that function's.
    from ayavision.train.loss import SupervisedLM

    llm_dir, _, composed = _compose(tmp_path, "cohere2", tie=True, logit_scale=0.25)
    vlm = composed.model.eval()
    llm = AutoModelForCausalLM.from_pretrained(llm_dir).eval()
    ids = torch.tensor([[5, 17, 3, 99, 42, 7]])
    targets = torch.cat([ids[:, 1:], torch.full((1, 1), -100)], dim=1)
    with torch.no_grad():
        ours = SupervisedLM(vlm)(ids, torch.arange(6)[None], targets)
        head = vlm.lm_head(vlm.model.language_model(input_ids=ids).last_hidden_state)[0, :-1]
        llm_logits = llm(input_ids=ids).logits[0, :-1]
    rows = llm_logits.shape[-1]
    torch.testing.assert_close(head[:, :rows] * 0.25, llm_logits, atol=1e-5, rtol=1e-4)  # the LLM's scaled logits
    expected = torch.nn.functional.cross_entropy(head * 0.25, ids[0, 1:], reduction="none")
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-4)
