"""Pack samples into rows of at most seq_len tokens, and collate rows into model inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ayavision.train.samples import IGNORE, Sample


class Packer:
    """First-fit packing over a small look-ahead buffer; deterministic, and its state is the buffer.

    Without packing each row holds one sample. The oldest pending sample always opens the next row,
    so no sample waits forever.
    """

    def __init__(self, next_sample: Callable[[], Sample], seq_len: int, packing: bool = True, buffer: int = 64) -> None:
        self.next_sample = next_sample
        self.seq_len = seq_len
        self.packing = packing
        self.buffer_size = buffer if packing else 1
        self.pending: list[Sample] = []

    def _fill(self) -> None:
        while len(self.pending) < self.buffer_size:
            self.pending.append(self.next_sample())

    def next_row(self) -> list[Sample]:
        self._fill()
        row = [self.pending.pop(0)]
        if not self.packing:
            return row
        used = len(row[0])
        index = 0
        while index < len(self.pending):
            if used + len(self.pending[index]) <= self.seq_len:
                sample = self.pending.pop(index)
                row.append(sample)
                used += len(sample)
                self._fill()  # refilled samples join the end and may still fit this row
            else:
                index += 1
        return row


@dataclass
class Batch:
    """Model inputs for a micro-batch of rows; `sample_index` maps each position to its sample (-1: padding)."""

    input_ids: torch.Tensor  # (rows, length)
    position_ids: torch.Tensor  # restart at 0 for every sample: attention stays inside a sample
    targets: torch.Tensor  # next-token targets, IGNORE where not supervised
    pixel_values: torch.Tensor | None
    sample_index: torch.Tensor
    sample_ids: list[str]
    real_tokens: int

    @property
    def supervised(self) -> int:
        return int((self.targets != IGNORE).sum())

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> Batch:
        pixels = self.pixel_values
        if pixels is not None:
            pixels = pixels.to(device=device, dtype=dtype or pixels.dtype)
        return Batch(
            self.input_ids.to(device),
            self.position_ids.to(device),
            self.targets.to(device),
            pixels,
            self.sample_index.to(device),
            self.sample_ids,
            self.real_tokens,
        )


def collate(rows: list[list[Sample]], pad_id: int, length: int | None = None) -> Batch:
    """Concatenate each row's samples; pad every row to `length` (default: the longest row).

    No attention mask is passed: transformers reads sample boundaries from the restarting position ids
    and builds a block-diagonal causal mask (SDPA) or uses varlen kernels (flash attention). Padding
    forms its own segment, so no real token ever attends to it.
    """
    width = length or max(sum(len(s) for s in row) for row in rows)
    n = len(rows)
    input_ids = torch.full((n, width), pad_id, dtype=torch.long)
    position_ids = torch.zeros((n, width), dtype=torch.long)
    targets = torch.full((n, width), IGNORE, dtype=torch.long)
    sample_index = torch.full((n, width), -1, dtype=torch.long)
    pixels, sample_ids, real = [], [], 0
    for r, row in enumerate(rows):
        offset = 0
        for sample in row:
            size = len(sample)
            input_ids[r, offset : offset + size] = torch.tensor(sample.input_ids)
            targets[r, offset : offset + size] = torch.tensor(sample.targets)
            position_ids[r, offset : offset + size] = torch.arange(size)
            sample_index[r, offset : offset + size] = len(sample_ids)
            sample_ids.append(sample.id)
            if sample.pixel_values is not None:
                pixels.append(sample.pixel_values)
            offset += size
            real += size
        if offset < width:
            position_ids[r, offset:] = torch.arange(width - offset)
    pixel_values = torch.cat(pixels) if pixels else None
    return Batch(input_ids, position_ids, targets, pixel_values, sample_index, sample_ids, real)
