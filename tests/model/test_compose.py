"""Composing an AyaVision model from encoder and LLM checkpoints, and what the load report says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForImageTextToText, SiglipModel

from ayavision.model.checkpoint import CheckpointError
from ayavision.model.compose import compose
from ayavision.model.llm import LLMError
from ayavision.model.presets import get_preset
from ayavision.model.spec import ConnectorSpec, LLMSpec, ModelSpec, TilingSpec, VisionSpec
from ayavision.model.store import save_composed
from ayavision.model.vision import EncoderError, check_grid

from .helpers import SMALL_VISION, save_causal_lm, save_siglip


def _spec(vision: Path | dict, llm: Path | dict, tile: int = 64, **llm_kwargs) -> ModelSpec:
    v = VisionSpec(checkpoint=vision) if isinstance(vision, Path) else VisionSpec(config=vision)
    lm = LLMSpec(checkpoint=llm, **llm_kwargs) if isinstance(llm, Path) else LLMSpec(config=llm, **llm_kwargs)
    return ModelSpec(vision=v, llm=lm, connector=ConnectorSpec(intermediate_size=64), tiling=TilingSpec(tile_size=tile))


def test_untied_llm_head_survives_composition_save_and_reload(tmp_path):
    llm_dir = save_causal_lm(tmp_path / "llama", "llama", tie=False)
    vis_dir = save_siglip(tmp_path / "siglip")
    llm_state = load_file(llm_dir / "model.safetensors")
    composed = compose(_spec(vis_dir, llm_dir))
    model = composed.model
    assert model.config.tie_word_embeddings is False
    head, embed = model.lm_head.weight, model.model.language_model.embed_tokens.weight
    assert head.data_ptr() != embed.data_ptr()
    rows = llm_state["lm_head.weight"].shape[0]
    torch.testing.assert_close(head[:rows], llm_state["lm_head.weight"])
    torch.testing.assert_close(embed[:rows], llm_state["model.embed_tokens.weight"])
    assert not torch.allclose(head[:rows], embed[:rows])

    save_composed(composed, tmp_path / "vlm", composed_spec := _spec(vis_dir, llm_dir))
    assert composed_spec.llm is not None
    reloaded = AutoModelForImageTextToText.from_pretrained(tmp_path / "vlm")
    torch.testing.assert_close(reloaded.lm_head.weight[:rows], llm_state["lm_head.weight"])
    assert reloaded.lm_head.weight.data_ptr() != reloaded.model.language_model.embed_tokens.weight.data_ptr()


def test_tied_llm_and_siglip_weights_are_loaded_and_text_tower_counted_as_ignored(tmp_path):
    llm_dir = save_causal_lm(tmp_path / "cohere2", "cohere2", tie=True, logit_scale=0.25)
    vis_dir = save_siglip(tmp_path / "siglip", with_text_tower=True)
    composed = compose(_spec(vis_dir, llm_dir))
    report, model = composed.report, composed.model
    assert report.missing == [] and report.unexpected == []
    assert report.ignored["vision_tower"] > 0  # the text tower and contrastive scale
    assert report.loaded["vision_tower"] == len(list(model.model.vision_tower.parameters()))
    assert any("logit_scale=0.25" in note for note in report.notes)
    assert any("embeddings resized from 1000" in note for note in report.notes)
    assert any("chat template" in note for note in report.notes)

    reference = SiglipModel.from_pretrained(vis_dir).vision_model
    torch.testing.assert_close(
        model.model.vision_tower.encoder.layers[1].mlp.fc2.weight, reference.encoder.layers[1].mlp.fc2.weight
    )
    llm_state = load_file(llm_dir / "model.safetensors")
    torch.testing.assert_close(
        model.model.language_model.layers[0].self_attn.q_proj.weight,
        llm_state["model.layers.0.self_attn.q_proj.weight"],
    )
    assert model.lm_head.weight.data_ptr() == model.model.language_model.embed_tokens.weight.data_ptr()
    # Ids come from the tokenizer, not from config class defaults.
    tokenizer = composed.processor.tokenizer
    assert model.config.image_token_index == tokenizer.convert_tokens_to_ids("<|IMG_PATCH|>")
    assert model.config.text_config.vocab_size == len(tokenizer)
    assert model.config.text_config.eos_token_id == tokenizer.convert_tokens_to_ids("<|END_OF_TURN_TOKEN|>")


def test_missing_and_unused_llm_tensors_are_reported_not_dropped(tmp_path):
    llm_dir = save_causal_lm(tmp_path / "llama", "llama")
    state = load_file(llm_dir / "model.safetensors")
    state.pop("model.layers.1.mlp.down_proj.weight")
    state["model.extra_adapter.weight"] = torch.zeros(2)
    state["score.weight"] = torch.zeros(2)
    save_file(state, llm_dir / "model.safetensors", metadata={"format": "pt"})
    report = compose(_spec(save_siglip(tmp_path / "s"), llm_dir)).report
    assert report.missing == ["model.language_model.layers.1.mlp.down_proj.weight"]
    assert sorted(report.unexpected) == ["model.language_model.extra_adapter.weight", "score.weight"]


def test_position_embeddings_are_resized_when_the_tile_differs_from_the_checkpoint(tmp_path):
    vis_dir = save_siglip(tmp_path / "siglip", image_size=96, patch_size=8)  # 12x12 grid
    composed = compose(_spec(vis_dir, get_preset("tiny").llm.config, tile=64, tokenizer="tiny"))
    assert composed.model.model.vision_tower.embeddings.position_embedding.weight.shape[0] == 64
    assert any("12x12 to 8x8" in note for note in composed.report.notes)


def test_an_odd_patch_grid_is_refused_with_a_suggested_tile_size():
    with pytest.raises(EncoderError, match=r"27x27 patch grid.*tile_size 364"):
        check_grid(384, 14, 2)
    with pytest.raises(EncoderError, match=r"9x9 patch grid.*tile_size 64"):
        compose(
            _spec(
                {**SMALL_VISION, "patch_size": 8, "image_size": 72},
                get_preset("tiny").llm.config,
                tile=72,
                tokenizer="tiny",
            )
        )


def test_siglip2_naflex_encoder_is_converted_exactly(tmp_path):
    from transformers import Siglip2VisionConfig, Siglip2VisionModel

    torch.manual_seed(3)
    config = Siglip2VisionConfig(**SMALL_VISION, patch_size=8, num_patches=64)
    reference = Siglip2VisionModel(config).eval()
    reference.save_pretrained(tmp_path / "siglip2")
    composed = compose(_spec(tmp_path / "siglip2", get_preset("tiny").llm.config, tile=64, tokenizer="tiny"))
    pixels = torch.randn(1, 3, 64, 64)
    # SigLIP2 takes pre-cut patches, each flattened as (row, col, channel).
    patches = pixels.reshape(1, 3, 8, 8, 8, 8).permute(0, 2, 4, 3, 5, 1).reshape(1, 64, 192)
    with torch.no_grad():
        expected = reference(
            pixel_values=patches,
            pixel_attention_mask=torch.ones(1, 64, dtype=torch.long),
            spatial_shapes=torch.tensor([[8, 8]]),
        ).last_hidden_state
        got = composed.model.model.vision_tower(pixels).last_hidden_state
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("model_type", ["cohere", "cohere2", "llama", "qwen2", "gemma"])
def test_any_causal_lm_family_composes_and_runs_on_an_image(model_type, tmp_path):
    from PIL import Image

    llm_dir = save_causal_lm(tmp_path / model_type, model_type)
    composed = compose(_spec(save_siglip(tmp_path / "s", with_text_tower=False), llm_dir))
    assert composed.report.missing == []
    messages = [
        {
            "role": "user",
            "content": [{"type": "image", "image": Image.new("RGB", (130, 40))}, {"type": "text", "text": "colour?"}],
        }
    ]
    inputs = composed.processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    with torch.no_grad():
        logits = composed.model(**inputs).logits
    assert logits.shape[-1] == composed.model.config.text_config.vocab_size
    assert torch.isfinite(logits).all()


def test_bad_checkpoints_get_clear_errors(tmp_path):
    pickle_only = tmp_path / "pickled"
    pickle_only.mkdir()
    (pickle_only / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (pickle_only / "pytorch_model.bin").write_bytes(b"\x80\x04")
    vis = save_siglip(tmp_path / "s")
    with pytest.raises(CheckpointError, match="only pickle weights"):
        compose(_spec(vis, pickle_only))

    truncated = save_causal_lm(tmp_path / "trunc", "llama")
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        compose(_spec(vis, truncated))

    not_lm = tmp_path / "bert"
    not_lm.mkdir()
    (not_lm / "config.json").write_text(json.dumps({"model_type": "clip"}))
    with pytest.raises(LLMError, match="not a causal LM"):
        compose(_spec(vis, not_lm))

    with pytest.raises(EncoderError, match="not a SigLIP"):
        compose(_spec(not_lm, truncated))


def test_starting_from_an_existing_aya_vision_folder_keeps_every_weight(tiny_model_dir):
    composed = compose(ModelSpec(base=tiny_model_dir))
    original = load_file(tiny_model_dir / "model.safetensors")
    state = composed.model.state_dict()
    torch.testing.assert_close(
        state["model.multi_modal_projector.linear_1.weight"], original["multi_modal_projector.linear_1.weight"]
    )
    assert composed.report.added_tokens == []


def test_a_tied_connector_reads_each_pixel_shuffled_patch_alike(tmp_path):
    llm_dir = save_causal_lm(tmp_path / "cohere2", "cohere2", tie=True)
    vis_dir = save_siglip(tmp_path / "siglip")
    spec = _spec(vis_dir, llm_dir)
    tied = spec.model_copy(update={"connector": ConnectorSpec(intermediate_size=64, tie_shuffled_patches=True)})
    projector = compose(tied).model.model.multi_modal_projector
    untied = compose(spec).model.model.multi_modal_projector
    # Patch states [1, 4, d] on a 2 x 2 grid: one token. Moving a feature to another patch of the same token must
    # not change what the tied connector makes of it; the independently drawn one sees a different input.
    d = SMALL_VISION["hidden_size"]
    feature = torch.randn(d)
    outputs = {}
    for name, connector in (("tied", projector), ("untied", untied)):
        connector.layernorm = torch.nn.Identity()  # the LayerNorm's statistics would differ with the zero slots
        moved = []
        for slot in range(4):
            states = torch.zeros(1, 4, d)
            states[0, slot] = feature
            moved.append(connector(states))
        outputs[name] = moved
    assert all(torch.allclose(outputs["tied"][0], other, atol=1e-6) for other in outputs["tied"][1:])
    assert not torch.allclose(outputs["untied"][0], outputs["untied"][1], atol=1e-3)
