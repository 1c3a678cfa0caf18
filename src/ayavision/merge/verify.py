"""Check a written folder against the plan before the merge is declared done: same names, shapes and dtypes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from safetensors import SafetensorError, safe_open

from ayavision.merge.errors import MergeError
from ayavision.merge.writer import OutputTensor
from ayavision.model.checkpoint import CheckpointError, checkpoint_files, list_tensors, verify_index


def verify_output(folder: Path, expected: Sequence[OutputTensor]) -> None:
    """Every expected tensor present with its shape and dtype, nothing else, and every shard readable by safetensors."""
    try:
        found = list_tensors(folder)
        verify_index(folder, found)
        for file in checkpoint_files(folder):
            with safe_open(str(file), framework="pt") as handle:  # the library's own header validation
                handle.keys()
    except (CheckpointError, SafetensorError) as err:
        raise MergeError(f"the merged weights did not verify: {err}") from None
    by_name = {t.name: t for t in found}
    for tensor in expected:
        got = by_name.pop(tensor.name, None)
        if got is None:
            raise MergeError(f"{folder}: the merged weights lack tensor {tensor.name}")
        if got.shape != tensor.shape or got.dtype != tensor.dtype:
            raise MergeError(
                f"{folder}: tensor {tensor.name} was written as {got.dtype} {list(got.shape)}, "
                f"expected {tensor.dtype} {list(tensor.shape)}"
            )
    if by_name:
        raise MergeError(f"{folder}: the merged weights hold an unexpected tensor {next(iter(by_name))}")
