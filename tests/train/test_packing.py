"""Packing: same per-sample loss as unpacked, position ids restarting, nothing attending across samples."""

from __future__ import annotations

import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from ayavision.testing.datasets import make_dataset
from ayavision.train.loss import SupervisedLM, per_sample_losses
from ayavision.train.mixture import load_bucket
from ayavision.train.packing import Packer, collate
from ayavision.train.samples import IGNORE, SampleBuilder


def _samples(tiny_model_dir, tmp_path, n=6, **kwargs):
    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    records = load_bucket([make_dataset(tmp_path / "d", n, languages=("eng_Latn", "fra_Latn"), long_answers=True)])
    builder = SampleBuilder(processor, seq_len=kwargs.pop("seq_len", 4096), **kwargs)
    return processor, [builder.build(r) for r in records], builder


def test_packed_batch_gives_the_same_per_sample_loss_as_unpacked(tiny_model_dir, tmp_path):
    processor, samples, _ = _samples(tiny_model_dir, tmp_path)
    torch.manual_seed(0)
    model = AutoModelForImageTextToText.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    with torch.no_grad():  # random-init heads are near-uniform: perturb so losses differ per sample
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    wrapped = SupervisedLM(model)
    pad = processor.tokenizer.pad_token_id

    def losses(rows):
        batch = collate(rows, pad)
        with torch.no_grad():
            token_losses = wrapped(batch.input_ids, batch.position_ids, batch.targets, batch.pixel_values)
        per = per_sample_losses(token_losses, batch.targets, batch.sample_index)
        return {batch.sample_ids[k]: v for k, v in per.items()}

    unpacked = {}
    for sample in samples:
        unpacked.update(losses([[sample]]))
    packed = losses([samples[:4], samples[4:]])  # two rows of several samples, padded to equal length
    assert packed.keys() == unpacked.keys() == {s.id for s in samples}
    for key in unpacked:
        assert abs(packed[key] - unpacked[key]) < 1e-5, key
    assert len(set(round(v, 4) for v in unpacked.values())) > 1  # the comparison is not vacuous


def test_collate_restarts_positions_and_masks_everything_but_answers(tiny_model_dir, tmp_path):
    processor, samples, _ = _samples(tiny_model_dir, tmp_path, n=3)
    batch = collate([samples], processor.tokenizer.pad_token_id, length=sum(len(s) for s in samples) + 5)
    positions = batch.position_ids[0].tolist()
    starts = [i for i, p in enumerate(positions) if p == 0]
    lengths = [len(s) for s in samples]
    assert starts == [0, lengths[0], lengths[0] + lengths[1], sum(lengths)]  # the last is the padding segment
    supervised = batch.targets[0] != IGNORE
    assert batch.supervised == sum(s.supervised for s in samples)
    image_token = processor.tokenizer.convert_tokens_to_ids("<|IMG_PATCH|>")
    assert not supervised[batch.input_ids[0] == image_token].any()
    assert not supervised[batch.sample_index[0] == -1].any()
    decoded = processor.tokenizer.decode(batch.targets[0][supervised])
    assert decoded.count("<|END_OF_TURN_TOKEN|>") == 3 and "colour" not in decoded


def test_packer_fills_rows_without_exceeding_seq_len_and_loses_no_sample(tiny_model_dir, tmp_path):
    import dataclasses

    _, samples, _ = _samples(tiny_model_dir, tmp_path, n=10)
    drawn = []

    def next_sample():
        sample = dataclasses.replace(samples[len(drawn) % len(samples)], id=f"draw-{len(drawn)}")
        drawn.append(sample.id)
        return sample

    seq_len = max(len(s) for s in samples) * 2
    packer = Packer(next_sample, seq_len=seq_len, packing=True, buffer=4)
    rows = [packer.next_row() for _ in range(8)]
    assert all(sum(len(s) for s in row) <= seq_len for row in rows)
    assert any(len(row) > 1 for row in rows)
    emitted = [s.id for row in rows for s in row]
    # Every drawn sample is either in a row or still pending: exactly once.
    assert sorted(emitted + [s.id for s in packer.pending]) == sorted(drawn)
    assert len(set(emitted)) == len(emitted)


def test_overflow_policy_is_explicit_and_counted(tiny_model_dir, tmp_path):
    _, full, _ = _samples(tiny_model_dir, tmp_path, n=4)
    longest = max(len(s) for s in full)
    image_end = max(s.input_ids.index(s.input_ids[-1]) for s in full)  # any position past the image is fine
    assert image_end > 0
    _processor, truncated, builder = _samples(tiny_model_dir, tmp_path / "t", n=4, seq_len=longest - 3)
    cut = [s for s in truncated if s is not None and len(s) == longest - 3]
    assert cut and all(s.targets[-1] == IGNORE for s in cut)
    _, skipped, builder = _samples(tiny_model_dir, tmp_path / "s", n=4, seq_len=longest - 3, overflow="skip")
    assert (None in skipped and builder.skip_reason is not None) or any(s is None for s in skipped)
    _, tiny, builder = _samples(tiny_model_dir, tmp_path / "i", n=1, seq_len=20)  # shorter than the image
    assert tiny == [None] and builder.skip_reason == "an image does not fit in seq_len"
