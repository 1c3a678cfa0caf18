"""Each bad input gives its own error, naming what is at fault, and leaves nothing that looks like a merge."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from ayavision.merge import MergeError, merge_checkpoints, merge_sweep
from ayavision.merge import stream as stream_module
from ayavision.model.checkpoint import CheckpointError, list_tensors
from ayavision.utils.fs import OutputExistsError

from ..model.helpers import save_causal_lm
from .helpers import load_all, resave


@pytest.mark.parametrize("alpha", [-0.1, 1.5, math.nan])
def test_alpha_outside_zero_one_is_refused(cohere_pair, tmp_path, alpha):
    with pytest.raises(MergeError, match="between 0 and 1"):
        merge_checkpoints(cohere_pair.vlm, cohere_pair.text, tmp_path / "out", alpha)
    assert not (tmp_path / "out").exists()


def test_a_sweep_with_a_bad_or_repeated_alpha_is_refused(cohere_pair, tmp_path):
    with pytest.raises(MergeError, match="between 0 and 1"):
        merge_sweep(cohere_pair.vlm, cohere_pair.text, tmp_path / "out", [0.2, 2])
    with pytest.raises(MergeError, match="twice"):
        merge_sweep(cohere_pair.vlm, cohere_pair.text, tmp_path / "out", [0.2, 0.2])
    assert not (tmp_path / "out").exists()


def test_a_text_llm_of_another_architecture_is_refused(cohere_pair, llama_pair, tmp_path):
    with pytest.raises(MergeError, match=r"'cohere2'.*'llama'"):
        merge_checkpoints(cohere_pair.vlm, llama_pair.text, tmp_path / "out")


def test_a_different_shape_names_the_first_tensor_that_differs(cohere_pair, tmp_path):
    text = save_causal_lm(tmp_path / "narrow", "cohere2", tie=True, logit_scale=1.0, intermediate_size=48)
    first = next(
        t.name
        for t in sorted(list_tensors(cohere_pair.vlm), key=lambda t: t.offset)
        if t.name.startswith("language_model.") and ".mlp." in t.name
    )
    with pytest.raises(MergeError, match="shapes differ") as caught:
        merge_checkpoints(cohere_pair.vlm, text, tmp_path / "out")
    assert f"VLM tensor {first} is [" in str(caught.value)


def test_missing_and_extra_layers_are_named(cohere_pair, tmp_path):
    shallow = save_causal_lm(tmp_path / "shallow", "cohere2", tie=True, logit_scale=1.0, num_hidden_layers=1)
    with pytest.raises(MergeError, match=r"no counterpart model\.layers\.1\."):
        merge_checkpoints(cohere_pair.vlm, shallow, tmp_path / "out")
    deep = save_causal_lm(tmp_path / "deep", "cohere2", tie=True, logit_scale=1.0, num_hidden_layers=3)
    with pytest.raises(MergeError, match=r"text LLM tensor model\.layers\.2\..* has no counterpart"):
        merge_checkpoints(cohere_pair.vlm, deep, tmp_path / "out")


def test_tied_and_untied_heads_do_not_mix(cohere_pair, tmp_path):
    untied = save_causal_lm(tmp_path / "untied", "cohere2", tie=False, logit_scale=1.0)
    with pytest.raises(MergeError, match="tie_word_embeddings is True in the VLM's config and False"):
        merge_checkpoints(cohere_pair.vlm, untied, tmp_path / "out")


def test_the_tie_flag_is_read_from_the_config_not_guessed_from_keys(llama_pair, tmp_path):
    """An untied VLM whose config claims tying is refused, though its keys alone look untied."""
    lying = tmp_path / "lying"
    shutil.copytree(llama_pair.vlm, lying)
    config = json.loads((lying / "config.json").read_text())
    config["tie_word_embeddings"] = True
    (lying / "config.json").write_text(json.dumps(config))
    with pytest.raises(MergeError, match="tie_word_embeddings is True in the VLM's config and False"):
        merge_checkpoints(lying, llama_pair.text, tmp_path / "out")


def test_swapped_or_unrecognised_inputs_are_refused(cohere_pair, tmp_path):
    with pytest.raises(MergeError, match=r"--text .*multimodal"):
        merge_checkpoints(cohere_pair.vlm, cohere_pair.vlm, tmp_path / "out")
    with pytest.raises(MergeError, match=r"--vlm .*not 'aya_vision'"):
        merge_checkpoints(cohere_pair.text, cohere_pair.text, tmp_path / "out")
    strange = tmp_path / "strange"
    shutil.copytree(cohere_pair.vlm, strange, ignore=shutil.ignore_patterns("*.safetensors"))
    from safetensors.torch import save_file

    save_file({f"encoder.{k}": v for k, v in load_all(cohere_pair.vlm).items()}, strange / "model.safetensors")
    with pytest.raises(MergeError, match="no AyaVision language model found"):
        merge_checkpoints(strange, cohere_pair.text, tmp_path / "out")


def test_a_checkpoint_mixing_layouts_is_refused(cohere_pair, tmp_path):
    mixed = resave(cohere_pair.vlm, tmp_path / "mixed")
    state = load_all(mixed)
    state["model.language_model.norm.weight"] = state.pop("language_model.model.norm.weight")
    from safetensors.torch import save_file

    save_file(state, mixed / "model.safetensors")
    with pytest.raises(MergeError, match=r"model\.language_model\.norm\.weight does not fit"):
        merge_checkpoints(mixed, cohere_pair.text, tmp_path / "out")


def test_a_missing_shard_is_named(cohere_pair, tmp_path):
    sharded = resave(cohere_pair.vlm, tmp_path / "sharded", "on-disk", shards=3)
    (sharded / "model-00002-of-00003.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"missing: model-00002-of-00003\.safetensors"):
        merge_checkpoints(sharded, cohere_pair.text, tmp_path / "out")


def test_a_truncated_shard_is_named(cohere_pair, tmp_path):
    text = tmp_path / "text"
    shutil.copytree(cohere_pair.text, text)
    weights = text / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=r"model\.safetensors: truncated"):
        merge_checkpoints(cohere_pair.vlm, text, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_index_that_disagrees_with_its_shards_is_refused(cohere_pair, tmp_path):
    sharded = resave(cohere_pair.vlm, tmp_path / "sharded", "on-disk", shards=2)
    index_path = sharded / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    name = next(iter(index["weight_map"]))
    del index["weight_map"][name]
    index_path.write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match=f"does not list tensor {name}"):
        merge_checkpoints(sharded, cohere_pair.text, tmp_path / "out")


def test_an_existing_output_is_kept_unless_overwrite(cohere_pair, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="pass --overwrite"):
        merge_checkpoints(cohere_pair.vlm, cohere_pair.text, out)
    assert (out / "keep.txt").read_text() == "mine"
    merge_checkpoints(cohere_pair.vlm, cohere_pair.text, out, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "merge.json").exists()


def test_an_output_inside_an_input_is_refused(cohere_pair):
    with pytest.raises(MergeError, match="overlaps the input"):
        merge_checkpoints(cohere_pair.vlm, cohere_pair.text, cohere_pair.vlm / "merged")


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_failure_midway_leaves_no_folder_that_looks_complete(cohere_pair, tmp_path, monkeypatch, overwrite):
    out = tmp_path / "out"
    if overwrite:
        out.mkdir()
        (out / "keep.txt").write_text("old")
    calls = {"n": 0}
    original = stream_module._Step._interpolate

    def fail_on_the_fifth_tensor(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(stream_module._Step, "_interpolate", fail_on_the_fifth_tensor)
    with pytest.raises(OSError, match="disk full"):
        merge_sweep(cohere_pair.vlm, cohere_pair.text, out, [0.2, 0.4], overwrite=overwrite)
    if overwrite:
        assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == (["out"] if overwrite else [])
