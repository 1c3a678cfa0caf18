"""Write safetensors shards whose headers are known before their data, so no shard is ever held in memory."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import torch

from ayavision.merge.errors import MergeError
from ayavision.model.checkpoint import INDEX_FILE, dtype_bytes

# safetensors.torch.save_file needs every tensor of a file in memory at once, plus a bytes copy of each; a merge
# knows every output name, dtype and shape up front, so it writes the header first and the data as it is computed.
# The format (8-byte little-endian header length, JSON header, data) is the one the safetensors library reads.
_ALIGNMENT = 8


@dataclass(frozen=True)
class OutputTensor:
    name: str
    dtype: str  # safetensors dtype: F32, BF16, ...
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        n = dtype_bytes(self.dtype)
        for dim in self.shape:
            n *= dim
        return n


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)?\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(text: str | int) -> int:
    """'5GB' (10^9, as transformers counts), '2GiB' (2^30) or a plain number of bytes."""
    if isinstance(text, int):
        size = text
    else:
        match = _SIZE.match(text)
        if not match:
            raise MergeError(f"--max-shard-size {text!r}: expected a size such as 5GB, 500MB or 2GiB")
        size = int(float(match.group(1)) * _UNITS[(match.group(2) or "B").upper()])
    if size <= 0:
        raise MergeError(f"--max-shard-size {text!r}: must be positive")
    return size


def split_shards(tensors: Sequence[OutputTensor], max_bytes: int) -> list[list[OutputTensor]]:
    """Consecutive groups of at most ``max_bytes`` (a larger tensor gets a shard of its own), order kept."""
    shards: list[list[OutputTensor]] = [[]]
    size = 0
    for tensor in tensors:
        if shards[-1] and size + tensor.nbytes > max_bytes:
            shards.append([])
            size = 0
        shards[-1].append(tensor)
        size += tensor.nbytes
    return shards


def shard_file_names(count: int) -> list[str]:
    return [f"model-{i:05d}-of-{count:05d}.safetensors" for i in range(1, count + 1)]


class ShardWriter:
    """One safetensors file written front to back: ``write`` each tensor's bytes in the order given."""

    def __init__(self, path: Path, tensors: Sequence[OutputTensor]) -> None:
        self.path = path
        self._tensors = list(tensors)
        header: dict[str, dict] = {"__metadata__": {"format": "pt"}}  # type: ignore[dict-item]
        offset = 0
        for tensor in self._tensors:
            header[tensor.name] = {
                "dtype": tensor.dtype,
                "shape": list(tensor.shape),
                "data_offsets": [offset, offset + tensor.nbytes],
            }
            offset += tensor.nbytes
        encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
        encoded += b" " * (-len(encoded) % _ALIGNMENT)  # the format pads the header with spaces
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close() or __exit__
        self._file.write(len(encoded).to_bytes(8, "little"))
        self._file.write(encoded)
        self._current = 0  # index of the tensor being written
        self._written = 0  # bytes of it written so far
        self.bytes_written = 8 + len(encoded)

    def write(self, name: str, data: torch.Tensor) -> None:
        """Append the next bytes of tensor ``name``; ``data`` is a contiguous tensor of any dtype."""
        while self._current < len(self._tensors) and self._tensors[self._current].nbytes == 0:
            self._current += 1  # empty tensors take no bytes
        if self._current >= len(self._tensors) or self._tensors[self._current].name != name:
            expected = self._tensors[self._current].name if self._current < len(self._tensors) else "nothing"
            raise MergeError(f"{self.path.name}: got bytes of {name} while expecting {expected}")
        raw = data.contiguous().reshape(-1).view(torch.uint8).numpy()
        tensor = self._tensors[self._current]
        if self._written + raw.nbytes > tensor.nbytes:
            raise MergeError(f"{self.path.name}: more bytes for {name} than its {tensor.nbytes}")
        self._file.write(memoryview(raw))
        self._written += raw.nbytes
        self.bytes_written += raw.nbytes
        if self._written == tensor.nbytes:
            self._current += 1
            self._written = 0

    def close(self) -> None:
        """Close the file, refusing one whose tensors were not all written in full."""
        self._file.close()
        unfinished = [t for t in self._tensors[self._current :] if t.nbytes > 0]
        if unfinished:
            raise MergeError(f"{self.path.name}: tensor {unfinished[0].name} was not written in full")

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self._file.close()  # the caller's folder is discarded; only release the handle


def write_index(folder: Path, shards: Sequence[tuple[str, Sequence[OutputTensor]]]) -> None:
    """The index transformers reads to find each tensor's shard."""
    weight_map = {tensor.name: file for file, tensors in shards for tensor in tensors}
    total = sum(tensor.nbytes for _, tensors in shards for tensor in tensors)
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
