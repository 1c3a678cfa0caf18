"""The pieces under the merge: ranged reads of a checkpoint, and shards written front to back."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from ayavision.merge import MergeError
from ayavision.merge.writer import OutputTensor, ShardWriter, parse_size, split_shards
from ayavision.model.checkpoint import CheckpointError, CheckpointReader, list_tensors


def test_ranged_reads_return_exactly_the_elements_asked_for(tmp_path):
    tensors = {"a": torch.arange(12, dtype=torch.float32).reshape(3, 4), "b": torch.arange(5).to(torch.bfloat16)}
    save_file(tensors, tmp_path / "model.safetensors")
    infos = {t.name: t for t in list_tensors(tmp_path)}
    with CheckpointReader() as reader:
        assert torch.equal(reader.read_elements(infos["a"], 5, 9), torch.arange(5, 9, dtype=torch.float32))
        assert torch.equal(reader.read_elements(infos["b"], 0, 5), tensors["b"])
        assert reader.bytes_read == 4 * 4 + 5 * 2 and reader.largest_read == 16
        with pytest.raises(ValueError, match="outside"):
            reader.read_bytes(infos["b"], 0, 11)


def test_a_file_cut_short_after_its_header_was_read_is_named(tmp_path):
    save_file({"a": torch.ones(100)}, tmp_path / "model.safetensors")
    info = list_tensors(tmp_path)[0]
    path = tmp_path / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-40])
    with CheckpointReader() as reader, pytest.raises(CheckpointError, match="truncated while reading tensor a"):
        reader.read_elements(info, 0, 100)


def test_a_written_shard_is_what_safetensors_reads(tmp_path):
    planned = [OutputTensor("x", "BF16", (2, 3)), OutputTensor("empty", "F32", (0,)), OutputTensor("y", "F32", ())]
    x = torch.randn(2, 3).to(torch.bfloat16)
    with ShardWriter(tmp_path / "s.safetensors", planned) as writer:
        writer.write("x", x.flatten()[:4])  # in pieces, as the merge streams them
        writer.write("x", x.flatten()[4:])
        writer.write("y", torch.tensor(7.0))
    loaded = load_file(tmp_path / "s.safetensors")
    assert torch.equal(loaded["x"], x) and loaded["y"].item() == 7.0 and loaded["empty"].shape == (0,)


def test_a_shard_refuses_bytes_out_of_order_and_an_unfinished_tensor(tmp_path):
    planned = [OutputTensor("x", "F32", (4,)), OutputTensor("y", "F32", (1,))]
    writer = ShardWriter(tmp_path / "s.safetensors", planned)
    with pytest.raises(MergeError, match="got bytes of y while expecting x"):
        writer.write("y", torch.zeros(1))
    writer.write("x", torch.zeros(4))
    with pytest.raises(MergeError, match="tensor y was not written in full"):
        writer.close()


def test_sizes_and_shard_splits():
    assert parse_size("5GB") == 5 * 10**9 and parse_size("2GiB") == 2 * 2**30 and parse_size(1000) == 1000
    with pytest.raises(MergeError):
        parse_size("0MB")
    tensors = [OutputTensor(n, "F32", (s,)) for n, s in (("a", 10), ("b", 10), ("c", 100), ("d", 1))]
    assert [[t.name for t in shard] for shard in split_shards(tensors, 80)] == [["a", "b"], ["c"], ["d"]]
