"""The merged weights: the formula on every language-model tensor, the rest byte for byte, in every layout."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from PIL import Image
from safetensors import safe_open

from ayavision.merge import merge_checkpoints, merge_sweep
from ayavision.model.checkpoint import list_tensors, released_name

from .helpers import load_all, resave, text_name

ALPHA = 0.4


def _bytes(tensor: torch.Tensor) -> bytes:
    return tensor.contiguous().view(torch.uint8).numpy().tobytes()


def _check_merged(out, pair, alpha: float) -> int:
    """Assert the issue's contract tensor by tensor; return how many language-model tensors were checked."""
    vlm, text, merged = load_all(pair.vlm), load_all(pair.text), load_all(out)
    assert set(merged) == set(vlm)
    checked = 0
    for name, source in vlm.items():
        result = merged[name]
        assert result.shape == source.shape and result.dtype == source.dtype, name
        partner = text_name(name)
        if partner is None:
            assert _bytes(result) == _bytes(source), f"{name} not copied byte for byte"
            continue
        other = text[partner]
        rows = other.shape[0]
        expected = alpha * source[:rows].float() + (1 - alpha) * other.float()
        assert torch.equal(result[:rows], expected.to(source.dtype)), name
        assert torch.equal(result[rows:], source[rows:]), f"{name}: rows the VLM added must come from it"
        checked += 1
    return checked


def test_tied_cohere2_language_model_follows_the_formula_and_the_rest_is_copied(cohere_pair, tmp_path):
    outcome = merge_checkpoints(cohere_pair.vlm, cohere_pair.text, tmp_path / "merged", ALPHA)
    checked = _check_merged(tmp_path / "merged", cohere_pair, ALPHA)
    text_tensors = load_all(cohere_pair.text)
    assert checked == len(text_tensors) == len(outcome.plan.merged)
    assert "language_model.lm_head.weight" not in load_all(tmp_path / "merged")  # tied: no head stored
    embed = "language_model.model.embed_tokens.weight"
    assert outcome.plan.vlm_only_rows == {embed: (1000, 1042)}


def test_untied_llama_head_merges_with_the_text_head_not_the_embeddings(llama_pair, tmp_path):
    merge_checkpoints(llama_pair.vlm, llama_pair.text, tmp_path / "merged", ALPHA)
    _check_merged(tmp_path / "merged", llama_pair, ALPHA)
    merged, text = load_all(tmp_path / "merged"), load_all(llama_pair.text)
    head = merged["language_model.lm_head.weight"]
    vlm_head = load_all(llama_pair.vlm)["language_model.lm_head.weight"]
    with_embeddings = ALPHA * vlm_head[:1000] + (1 - ALPHA) * text["model.embed_tokens.weight"]
    assert not torch.allclose(head[:1000], with_embeddings)


def test_sweep_reads_inputs_once_and_its_ends_are_the_two_models(cohere_pair, tmp_path):
    single = merge_checkpoints(cohere_pair.vlm, cohere_pair.text, tmp_path / "single", ALPHA)
    sweep = merge_sweep(cohere_pair.vlm, cohere_pair.text, tmp_path / "sweep", [0, ALPHA, 1])
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir()) == ["alpha-0.0", "alpha-0.4", "alpha-1.0"]
    assert sweep.stream.bytes_read == single.stream.bytes_read  # three outputs from one read of each input

    middle, alone = load_all(tmp_path / "sweep" / "alpha-0.4"), load_all(tmp_path / "single")
    assert all(torch.equal(middle[name], alone[name]) for name in alone)

    vlm, text = load_all(cohere_pair.vlm), load_all(cohere_pair.text)
    at_one, at_zero = load_all(tmp_path / "sweep" / "alpha-1.0"), load_all(tmp_path / "sweep" / "alpha-0.0")
    for name, source in vlm.items():
        assert _bytes(at_one[name]) == _bytes(source), f"alpha=1 must be the VLM: {name}"
        partner = text_name(name)
        if partner is None:
            assert _bytes(at_zero[name]) == _bytes(source), name
        else:
            rows = text[partner].shape[0]
            assert _bytes(at_zero[name][:rows]) == _bytes(text[partner]), f"alpha=0 must be the text LLM: {name}"
            assert torch.equal(at_zero[name][rows:], source[rows:]), name
    record = json.loads((tmp_path / "sweep" / "alpha-0.0" / "merge.json").read_text())
    assert record["alpha"] == 0.0 and record["sweep"] == [0.0, ALPHA, 1.0]


@pytest.mark.parametrize(("layout", "shards"), [("in-memory", 1), ("released", 1), ("in-memory", 3)])
def test_every_vlm_layout_gives_the_same_merged_weights(cohere_pair, tmp_path, layout, shards):
    merge_checkpoints(cohere_pair.vlm, cohere_pair.text, tmp_path / "reference", ALPHA)
    reference = {text_name(n) or n: t for n, t in load_all(tmp_path / "reference").items() if text_name(n)}
    other = resave(cohere_pair.vlm, tmp_path / layout, layout, shards)
    outcome = merge_checkpoints(other, cohere_pair.text, tmp_path / f"merged-{layout}", ALPHA)
    assert outcome.plan.layout.kind == layout
    merged = load_all(tmp_path / f"merged-{layout}")
    assert set(merged) == {released_name(n) for n in load_all(other)}  # any input layout is written as released
    lm = {text_name(n): t for n, t in merged.items() if text_name(n)}
    assert lm.keys() == reference.keys()
    assert all(torch.equal(lm[name], reference[name]) for name in reference)


def test_a_sharded_text_llm_and_small_output_shards(cohere_pair, tmp_path):
    text = resave(cohere_pair.text, tmp_path / "text-sharded", shards=2)
    merge_checkpoints(cohere_pair.vlm, text, tmp_path / "merged", ALPHA, max_shard_size="100KB")
    files = {t.file.name for t in list_tensors(tmp_path / "merged")}
    assert len(files) > 1 and (tmp_path / "merged" / "model.safetensors.index.json").exists()
    _check_merged(tmp_path / "merged", cohere_pair, ALPHA)


def test_memory_is_bounded_by_the_chunk_not_the_tensor(cohere_pair, tmp_path):
    """The largest single read stays at the chunk size (the embeddings are 128 KB), with identical results."""
    chunked = merge_checkpoints(cohere_pair.vlm, cohere_pair.text, tmp_path / "chunked", ALPHA, chunk_bytes=1024)
    whole = merge_checkpoints(cohere_pair.vlm, cohere_pair.text, tmp_path / "whole", ALPHA)
    assert chunked.stream.largest_read <= 1024 < whole.stream.largest_read
    assert chunked.stream.bytes_read == whole.stream.bytes_read
    small, large = load_all(tmp_path / "chunked"), load_all(tmp_path / "whole")
    assert all(_bytes(small[name]) == _bytes(large[name]) for name in large)


def test_dtype_option_casts_only_the_merged_tensors(llama_pair, tmp_path):
    merge_checkpoints(llama_pair.vlm, llama_pair.text, tmp_path / "bf16", ALPHA, dtype="bfloat16")
    vlm, text, merged = load_all(llama_pair.vlm), load_all(llama_pair.text), load_all(tmp_path / "bf16")
    for name, source in vlm.items():
        partner = text_name(name)
        if partner is None:
            assert _bytes(merged[name]) == _bytes(source), name
            continue
        rows = text[partner].shape[0]
        expected = (ALPHA * source[:rows] + (1 - ALPHA) * text[partner]).to(torch.bfloat16)
        assert merged[name].dtype == torch.bfloat16 and torch.equal(merged[name][:rows], expected), name
        assert torch.equal(merged[name][rows:], source[rows:].to(torch.bfloat16)), name


def test_slerp_matches_whole_tensor_spherical_interpolation(llama_pair, tmp_path):
    merge_checkpoints(llama_pair.vlm, llama_pair.text, tmp_path / "slerp", ALPHA, method="slerp")
    vlm, text, merged = load_all(llama_pair.vlm), load_all(llama_pair.text), load_all(tmp_path / "slerp")
    name = "language_model.model.layers.1.mlp.up_proj.weight"
    a, b = vlm[name].double().flatten(), text["model.layers.1.mlp.up_proj.weight"].double().flatten()
    theta = torch.arccos(torch.dot(a, b) / (a.norm() * b.norm()))
    expected = (torch.sin(ALPHA * theta) * a + torch.sin((1 - ALPHA) * theta) * b) / torch.sin(theta)
    torch.testing.assert_close(merged[name].double().flatten(), expected, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(merged[name].double().flatten(), ALPHA * a + (1 - ALPHA) * b)


def test_folder_is_complete_recorded_and_generates(cohere_pair, tmp_path):
    from ayavision.model.generate import generate_from_folder

    out = tmp_path / "merged"
    merge_checkpoints(cohere_pair.vlm, cohere_pair.text, out, ALPHA)
    for name in ("config.json", "tokenizer.json", "processor_config.json", "chat_template.jinja"):
        assert (out / name).read_bytes() == (cohere_pair.vlm / name).read_bytes(), name
    record = json.loads((out / "merge.json").read_text())
    assert record["alpha"] == ALPHA and record["method"] == "linear"
    weights = cohere_pair.text / "model.safetensors"
    assert record["text"]["files"]["model.safetensors"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert record["vlm"]["path"] == str(cohere_pair.vlm.resolve())
    assert record["tensors"]["rows_from_vlm_only"] == {
        "language_model.model.embed_tokens.weight": {"shared": 1000, "all": 1042}
    }
    for file in {t.file for t in list_tensors(out)}:
        with safe_open(str(file), framework="pt") as handle:
            assert handle.metadata() == {"format": "pt"}

    Image.new("RGB", (48, 40), "red").save(tmp_path / "red.png")
    result = generate_from_folder(out, [tmp_path / "red.png"], "What colour?", max_new_tokens=3)
    assert len(result.token_ids) >= 1 and result.image_tokens > 0
