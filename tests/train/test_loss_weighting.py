"""How a batch's tokens share the loss: token, square and sample weighting, whatever the micro-batch split."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForImageTextToText, AutoProcessor

from ayavision.testing.datasets import make_dataset
from ayavision.train.config import load_train_recipe
from ayavision.train.loss import SupervisedLM, per_sample_losses, token_weights, weight_total
from ayavision.train.metrics import read_metrics
from ayavision.train.mixture import load_bucket
from ayavision.train.packing import collate
from ayavision.train.samples import IGNORE, SampleBuilder
from ayavision.train.trainer import train_stage

from .recipes import stage, write_recipe


@pytest.fixture
def packed(tiny_model_dir, tmp_path):
    """Six samples of unequal answer lengths in two packed rows, and a perturbed tiny model's per-token losses."""
    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    data = make_dataset(tmp_path / "d", 6, languages=("eng_Latn", "fra_Latn"), long_answers=True)
    builder = SampleBuilder(processor, seq_len=4096)
    samples = [builder.build(r) for r in load_bucket([data])]
    torch.manual_seed(0)
    model = AutoModelForImageTextToText.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    rows = [samples[:4], samples[4:]]
    batch = collate(rows, processor.tokenizer.pad_token_id)
    with torch.no_grad():
        losses = SupervisedLM(model)(batch.input_ids, batch.position_ids, batch.targets, batch.pixel_values)
    return rows, batch, losses


@pytest.mark.parametrize("weighting", ["token", "square", "sample"])
def test_weighted_loss_is_the_weighting_s_mean(packed, weighting):
    rows, batch, losses = packed
    counts = [s.supervised for row in rows for s in row]
    assert len(set(counts)) > 1  # unequal lengths, or the weightings would coincide
    owners = batch.sample_index[batch.targets != IGNORE]
    weights = token_weights(counts, owners, weighting, weight_total(counts, weighting))
    assert float(weights.sum()) == pytest.approx(1.0, abs=1e-6)
    per_sample = per_sample_losses(losses, batch.targets, batch.sample_index)
    share = {"token": list(counts), "square": [n**0.5 for n in counts], "sample": [1.0] * len(counts)}[weighting]
    expected = sum(share[i] * per_sample[i] for i in range(len(counts))) / sum(share)
    assert float((losses * weights).sum()) == pytest.approx(expected, rel=1e-5)


def test_sample_weighting_gives_every_sample_the_same_total_weight_across_micro_batches(packed):
    rows, _, _ = packed
    counts = [s.supervised for row in rows for s in row]
    total = weight_total(counts, "sample")
    per_sample_total = []
    for row in rows:  # each row its own micro-batch, as on two processes: the global normaliser makes them add up
        row_counts = [s.supervised for s in row]
        owners = torch.repeat_interleave(torch.arange(len(row)), torch.tensor(row_counts))
        weights = token_weights(row_counts, owners, "sample", total)
        per_sample_total += [float(weights[owners == i].sum()) for i in range(len(row))]
    assert per_sample_total == pytest.approx([1 / len(counts)] * len(counts), rel=1e-6)


def test_micro_batch_split_does_not_change_a_sample_weighted_stage(tmp_path, tiny_model_dir):
    data = make_dataset(tmp_path / "orig", 12, languages=("eng_Latn",), long_answers=True)
    for name in ("whole", "split", "token"):
        (tmp_path / name).mkdir()
    losses = {}
    for name, micro in (("whole", 2), ("split", 1)):
        spec = stage({"original": 1.0}, max_steps=3, micro_batch=micro, loss_weighting="sample")
        recipe = load_train_recipe(write_recipe(tmp_path / name, {"original": data}, {"sft": spec}))
        train_stage(recipe, "sft", tmp_path / name / "out", init=tiny_model_dir, quiet=True)
        losses[name] = [m["loss"] for m in read_metrics(tmp_path / name / "out" / "metrics.jsonl")]
    assert losses["whole"] == pytest.approx(losses["split"], rel=1e-5)
    token = stage({"original": 1.0}, max_steps=3, micro_batch=2)
    recipe = load_train_recipe(write_recipe(tmp_path / "token", {"original": data}, {"sft": token}))
    train_stage(recipe, "sft", tmp_path / "token" / "out", init=tiny_model_dir, quiet=True)
    final = {
        name: load_file(tmp_path / name / "out" / "model" / "model.safetensors") for name in ("whole", "split", "token")
    }
    split_gap = max(float((final["whole"][n] - final["split"][n]).abs().max()) for n in final["whole"])
    token_gap = max(float((final["whole"][n] - final["token"][n]).abs().max()) for n in final["whole"])
    assert split_gap < 1e-4 < 1e-3 < token_gap  # the split changes nothing; the weighting changes what is learnt
