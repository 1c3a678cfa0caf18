"""Read safetensors checkpoint folders (one file or sharded with an index) one tensor at a time."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be read; the message names the folder or file."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    file: Path
    dtype: str
    shape: tuple[int, ...]

    @property
    def numel(self) -> int:
        n = 1
        for dim in self.shape:
            n *= dim
        return n


_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def dtype_bytes(dtype: str) -> int:
    return _DTYPE_BYTES.get(dtype, 4)


def checkpoint_files(folder: str | Path) -> list[Path]:
    """The safetensors files of a folder, checking that every shard the index names exists."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: not a folder")
    index = folder / INDEX_FILE
    if index.exists():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise CheckpointError(f"{index}: not a valid safetensors index ({err})") from None
        files = sorted({folder / name for name in weight_map.values()})
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise CheckpointError(f"{folder}: shards named in {INDEX_FILE} are missing: {', '.join(missing)}")
        return files
    if (folder / SINGLE_FILE).exists():
        return [folder / SINGLE_FILE]
    others = sorted(folder.glob("*.safetensors"))
    if others:
        return others
    if list(folder.glob("*.bin")) or list(folder.glob("*.pt")) or list(folder.glob("*.pth")):
        raise CheckpointError(
            f"{folder}: only pickle weights (.bin/.pt) found; ayavision reads safetensors only. Convert them once "
            "in a trusted environment (load, then save_pretrained(..., safe_serialization=True))."
        )
    raise CheckpointError(f"{folder}: no safetensors weights ({SINGLE_FILE} or {INDEX_FILE}) found")


def read_header(file: Path) -> dict:
    """The JSON header of a safetensors file, read without touching the tensor data."""
    try:
        with open(file, "rb") as handle:
            size_bytes = handle.read(8)
            if len(size_bytes) != 8:
                raise CheckpointError(f"{file}: truncated (no safetensors header)")
            (size,) = struct.unpack("<Q", size_bytes)
            header = json.loads(handle.read(size))
            handle.seek(0, 2)
            data_len = handle.tell() - 8 - size
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{file}: not a readable safetensors file ({err})") from None
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
    if ends and max(ends) > data_len:
        raise CheckpointError(f"{file}: truncated ({data_len} data bytes, header needs {max(ends)})")
    return header


def list_tensors(folder: str | Path) -> list[TensorInfo]:
    """Name, file, dtype and shape of every tensor, from the headers only."""
    infos = []
    for file in checkpoint_files(folder):
        for name, meta in read_header(file).items():
            if name == "__metadata__":
                continue
            infos.append(TensorInfo(name, file, meta["dtype"], tuple(meta["shape"])))
    return infos


def iter_tensors(folder: str | Path) -> Iterator[tuple[str, torch.Tensor]]:
    """Yield (name, tensor) one at a time so peak memory stays at one tensor."""
    for file in checkpoint_files(folder):
        read_header(file)  # fail early and clearly on a truncated shard
        with safe_open(str(file), framework="pt") as handle:
            for name in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                yield name, handle.get_tensor(name)
