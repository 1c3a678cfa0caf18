"""Read safetensors checkpoint folders (one file or sharded with an index) one tensor at a time."""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch
from safetensors import safe_open

from ayavision.errors import AyaVisionError

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"


class CheckpointError(AyaVisionError, ValueError):
    """A checkpoint folder that cannot be read; the message names the folder or file."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    file: Path
    dtype: str
    shape: tuple[int, ...]
    offset: int = 0  # where the tensor's bytes start in the file (header included)
    nbytes: int = 0

    @property
    def numel(self) -> int:
        n = 1
        for dim in self.shape:
            n *= dim
        return n


_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def dtype_bytes(dtype: str) -> int:
    return _DTYPE_BYTES.get(dtype, 4)


TORCH_DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16"})
SAFETENSORS_DTYPES: dict[torch.dtype, str] = {v: k for k, v in TORCH_DTYPES.items()}


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
    return _read_header(file)[0]


def _read_header(file: Path) -> tuple[dict, int]:
    """The header and the file offset where the data starts; a file too short for its header is refused."""
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
    return header, 8 + size


def list_tensors(folder: str | Path) -> list[TensorInfo]:
    """Name, file, dtype, shape and byte range of every tensor, from the headers only."""
    infos = []
    for file in checkpoint_files(folder):
        header, data_start = _read_header(file)
        for name, meta in header.items():
            if name == "__metadata__":
                continue
            begin, end = meta["data_offsets"]
            infos.append(TensorInfo(name, file, meta["dtype"], tuple(meta["shape"]), data_start + begin, end - begin))
    return infos


def verify_index(folder: str | Path, tensors: list[TensorInfo]) -> None:
    """The index (if any) names exactly the tensors the shards hold, each in its shard, and no name twice."""
    folder = Path(folder)
    seen: dict[str, Path] = {}
    for info in tensors:
        if info.name in seen:
            other = seen[info.name].name
            raise CheckpointError(f"{folder}: tensor {info.name} is in both {other} and {info.file.name}")
        seen[info.name] = info.file
    index = folder / INDEX_FILE
    if not index.exists():
        return
    weight_map: dict[str, str] = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
    for name, file in weight_map.items():
        if name not in seen:
            raise CheckpointError(f"{index}: names tensor {name} in {file}, but no shard holds it")
        if seen[name].name != file:
            raise CheckpointError(f"{index}: names tensor {name} in {file}, but it is in {seen[name].name}")
    unlisted = [name for name in seen if name not in weight_map]
    if unlisted:
        raise CheckpointError(f"{index}: does not list tensor {unlisted[0]} (in {seen[unlisted[0]].name})")


class CheckpointReader:
    """Read byte or element ranges of tensors with plain positioned reads.

    ``safe_open`` maps whole files, and every page it touches counts toward the process's resident memory until
    the file is closed, so streaming a checkpoint through it makes the peak grow to the checkpoint's size. Reading a
    range by its header offsets keeps memory at the range asked for. ``bytes_read`` and ``largest_read`` say how
    much was read and the most held by one read.
    """

    def __init__(self) -> None:
        self._handles: dict[Path, BinaryIO] = {}
        self.bytes_read = 0
        self.largest_read = 0

    def read_bytes(self, info: TensorInfo, start: int, stop: int, out: torch.Tensor | None = None) -> torch.Tensor:
        """Bytes ``[start, stop)`` of a tensor's data as a flat uint8 tensor: ``out[: stop - start]`` if given."""
        if not 0 <= start <= stop <= info.nbytes:
            raise ValueError(f"{info.name}: byte range [{start}, {stop}) outside its {info.nbytes} bytes")
        size = stop - start
        buffer = torch.empty(size, dtype=torch.uint8) if out is None else out[:size]
        handle = self._handle(info.file)
        handle.seek(info.offset + start)
        got = handle.readinto(memoryview(buffer.numpy()))
        if got != size:
            raise CheckpointError(f"{info.file}: truncated while reading tensor {info.name}")
        self.bytes_read += got
        self.largest_read = max(self.largest_read, got)
        return buffer

    def read_elements(self, info: TensorInfo, start: int, stop: int, out: torch.Tensor | None = None) -> torch.Tensor:
        """Elements ``[start, stop)`` of a tensor in row-major order, as a flat tensor of its dtype.

        ``out``, a uint8 tensor, receives the bytes: reusing one buffer spares an allocation (and its page faults)
        per read.
        """
        if info.dtype not in TORCH_DTYPES:
            raise CheckpointError(f"{info.file}: tensor {info.name} has dtype {info.dtype}, not one torch reads")
        size = dtype_bytes(info.dtype)
        return self.read_bytes(info, start * size, stop * size, out).view(TORCH_DTYPES[info.dtype])

    def _handle(self, file: Path) -> BinaryIO:
        if file not in self._handles:
            self._handles[file] = open(file, "rb")  # noqa: SIM115 - kept open across reads, closed in close()
        return self._handles[file]

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()

    def __enter__(self) -> CheckpointReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_tensors(folder: str | Path) -> Iterator[tuple[str, torch.Tensor]]:
    """Yield (name, tensor) one at a time so peak memory stays at one tensor."""
    for file in checkpoint_files(folder):
        read_header(file)  # fail early and clearly on a truncated shard
        with safe_open(str(file), framework="pt") as handle:
            for name in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                yield name, handle.get_tensor(name)


# The tensor namings of AyaVision checkpoints, recognised from the names alone.
LAYOUT_STYLES = {
    "released": "released (vision_tower.vision_model.*, language_model.model.*)",
    "on-disk": "on-disk default (vision_tower.*, multi_modal_projector.*, language_model.model.*)",
    "in-memory": "in-memory (model.vision_tower.*, model.multi_modal_projector.*, model.language_model.*, lm_head.*)",
    "unknown": "unknown",
}


def layout_kind(names: list[str]) -> str:
    """Which naming an AyaVision checkpoint uses, as a key of LAYOUT_STYLES: released, on-disk, in-memory, unknown.

    It lives here rather than in info.py so that merging reads layouts without importing the model classes.
    """
    heads = Counter(".".join(n.split(".")[:2]) for n in names)
    if any(n.startswith("vision_tower.vision_model.") for n in names):
        return "released"
    if heads.get("language_model.model") or any(n.startswith("language_model.lm_head") for n in names):
        return "on-disk"
    if heads.get("model.language_model"):
        return "in-memory"
    return "unknown"


# Any AyaVision naming -> the released one. vLLM <= 0.24 looks the SigLIP tower up under `vision_model.` only, and
# transformers >= 5.6 saves a model built from scratch without that level: the released layout is written explicitly.
_TO_RELEASED = (
    ("model.vision_tower.vision_model.", "vision_tower.vision_model."),
    ("model.vision_tower.", "vision_tower.vision_model."),
    ("vision_tower.vision_model.", "vision_tower.vision_model."),
    ("vision_tower.", "vision_tower.vision_model."),
    ("model.multi_modal_projector.", "multi_modal_projector."),
    ("model.language_model.", "language_model.model."),
    ("lm_head.", "language_model.lm_head."),
)


def released_name(name: str) -> str:
    """An AyaVision tensor's name in the released layout, whatever layout ``name`` is in."""
    for prefix, released in _TO_RELEASED:
        if name.startswith(prefix):
            return released + name[len(prefix) :]
    return name


def rewrite_released_layout(folder: str | Path) -> int:
    """Rename a saved AyaVision folder's tensors to the released layout in place; return how many were renamed.

    Only headers change: each shard is copied to a sibling with the new header and renamed over the old one, so a
    crash leaves every shard either old or new, both loadable. The index, if any, is rewritten last.
    """
    folder = Path(folder)
    renamed = 0
    for file in checkpoint_files(folder):
        header, data_start = _read_header(file)
        new_header = {(k if k == "__metadata__" else released_name(k)): v for k, v in header.items()}
        changed = sum(1 for k in header if k != "__metadata__" and released_name(k) != k)
        if not changed:
            continue
        encoded = json.dumps(new_header, separators=(",", ":")).encode("utf-8")
        encoded += b" " * (-len(encoded) % 8)  # the format pads the header with spaces to 8 bytes
        tmp = file.with_name(f".{file.name}.tmp")
        with open(file, "rb") as source, open(tmp, "wb") as target:
            target.write(struct.pack("<Q", len(encoded)))
            target.write(encoded)
            source.seek(data_start)
            shutil.copyfileobj(source, target, 1 << 24)
        os.replace(tmp, file)
        renamed += changed
    index = folder / INDEX_FILE
    if renamed and index.exists():
        data = json.loads(index.read_text(encoding="utf-8"))
        data["weight_map"] = {released_name(k): v for k, v in data["weight_map"].items()}
        tmp = index.with_name(f".{index.name}.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, index)
    return renamed
