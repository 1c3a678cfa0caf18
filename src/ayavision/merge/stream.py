"""The streaming core: each input range read once (SLERP: twice) and written to every alpha's output, chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ayavision.merge.methods import MergeMethod, TensorStats
from ayavision.merge.plan import MergePlan, TensorTask
from ayavision.merge.writer import ShardWriter, shard_file_names, split_shards, write_index
from ayavision.model.checkpoint import TORCH_DTYPES, CheckpointReader, TensorInfo, dtype_bytes

# Bytes of fp32 per input per step. Memory stays near a handful of chunks whatever the tensor or shard size.
DEFAULT_CHUNK_BYTES = 16 * 2**20

ProgressCallback = Callable[[int], None]  # called with the number of VLM bytes just processed


@dataclass
class StreamReport:
    bytes_read: int  # from both inputs
    bytes_written: int  # to all outputs
    largest_read: int  # the most bytes one read held: the memory bound in practice


def stream_merge(
    plan: MergePlan,
    method: MergeMethod,
    alphas: Sequence[float],
    folders: Sequence[Path],
    max_shard_bytes: int,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    on_progress: ProgressCallback | None = None,
) -> StreamReport:
    """Write the merged weights for ``alphas[i]`` into ``folders[i]`` (shards and index), all in one pass."""
    outputs = [task.output for task in plan.tasks]
    shards = split_shards(outputs, max_shard_bytes)
    names = shard_file_names(len(shards))
    tasks = {task.name: task for task in plan.tasks}
    written = 0
    with CheckpointReader() as vlm_reader, CheckpointReader() as text_reader:
        step = _Step(vlm_reader, text_reader, method, alphas, chunk_bytes, on_progress or (lambda _: None))
        for file_name, shard in zip(names, shards, strict=True):
            with ExitStack() as stack:
                writers = [stack.enter_context(ShardWriter(folder / file_name, shard)) for folder in folders]
                for output in shard:
                    step.run(tasks[output.name], writers)
            written += sum(writer.bytes_written for writer in writers)
        for folder in folders:
            write_index(folder, list(zip(names, shards, strict=True)))
    return StreamReport(
        bytes_read=vlm_reader.bytes_read + text_reader.bytes_read,
        bytes_written=written,
        largest_read=max(vlm_reader.largest_read, text_reader.largest_read),
    )


class _Buffers:
    """Scratch tensors reused from chunk to chunk: allocating each chunk afresh costs page faults that, measured,
    took longer than the arithmetic itself."""

    def __init__(self) -> None:
        self._pool: dict[tuple[str, torch.dtype], torch.Tensor] = {}

    def get(self, purpose: str, count: int, dtype: torch.dtype) -> torch.Tensor:
        buffer = self._pool.get((purpose, dtype))
        if buffer is None or buffer.numel() < count:
            buffer = self._pool[(purpose, dtype)] = torch.empty(count, dtype=dtype)
        return buffer[:count]


@dataclass
class _Step:
    vlm: CheckpointReader
    text: CheckpointReader
    method: MergeMethod
    alphas: Sequence[float]
    chunk_bytes: int
    on_progress: ProgressCallback
    buffers: _Buffers = field(default_factory=_Buffers)

    def run(self, task: TensorTask, writers: Sequence[ShardWriter]) -> None:
        if task.text is None:
            self._copy_bytes(task, 0, task.vlm.nbytes, writers)
            return
        stats = self._stats(task) if self.method.needs_stats else None
        weights = [self.method.weights(alpha, stats) for alpha in self.alphas]
        self._interpolate(task, weights, writers)
        tail = task.shared_elements  # rows only the VLM has (image tokens, tile tags): taken from it as they are
        if task.out_dtype == task.vlm.dtype:
            self._copy_bytes(task, tail * dtype_bytes(task.vlm.dtype), task.vlm.nbytes, writers)
            return
        for start, stop in self._ranges(tail, task.vlm.numel):
            data = self._cast(self._read(self.vlm, task.vlm, start, stop, "vlm"), task.out_dtype, "out")
            for writer in writers:
                writer.write(task.name, data)
            self.on_progress((stop - start) * dtype_bytes(task.vlm.dtype))

    def _interpolate(self, task: TensorTask, weights: list[tuple[float, float]], writers: Sequence[ShardWriter]):
        assert task.text is not None
        for start, stop in self._ranges(0, task.shared_elements):
            vlm = self._cast(self._read(self.vlm, task.vlm, start, stop, "vlm"), "F32", "vlm32")
            text = self._cast(self._read(self.text, task.text, start, stop, "text"), "F32", "text32")
            merged = self.buffers.get("merged", stop - start, torch.float32)
            for (w_vlm, w_text), writer in zip(weights, writers, strict=True):
                # Exactly w_vlm * a + w_text * b in fp32 (no fused multiply-add), so the result is the formula's
                # to the last bit; a zero weight drops its term, so alpha 1 and 0 return an input unchanged.
                if w_text == 0.0:
                    torch.mul(vlm, w_vlm, out=merged)
                elif w_vlm == 0.0:
                    torch.mul(text, w_text, out=merged)
                else:
                    torch.mul(vlm, w_vlm, out=merged)
                    merged.add_(torch.mul(text, w_text, out=self.buffers.get("scratch", stop - start, torch.float32)))
                writer.write(task.name, self._cast(merged, task.out_dtype, "out"))
            self.on_progress((stop - start) * dtype_bytes(task.vlm.dtype))

    def _stats(self, task: TensorTask) -> TensorStats:
        assert task.text is not None
        dot = vlm_square = text_square = 0.0
        for start, stop in self._ranges(0, task.shared_elements):
            vlm = self._cast(self._read(self.vlm, task.vlm, start, stop, "vlm"), "F32", "vlm32")
            text = self._cast(self._read(self.text, task.text, start, stop, "text"), "F32", "text32")
            dot += float(torch.dot(vlm, text))
            vlm_square += float(torch.dot(vlm, vlm))
            text_square += float(torch.dot(text, text))
        return TensorStats(dot, vlm_square, text_square)

    def _read(self, reader: CheckpointReader, info: TensorInfo, start: int, stop: int, purpose: str) -> torch.Tensor:
        raw = self.buffers.get(purpose, (stop - start) * dtype_bytes(info.dtype), torch.uint8)
        return reader.read_elements(info, start, stop, out=raw)

    def _cast(self, data: torch.Tensor, dtype: str, purpose: str) -> torch.Tensor:
        target = TORCH_DTYPES[dtype]
        if data.dtype == target:
            return data
        return self.buffers.get(purpose, data.numel(), target).copy_(data)

    def _copy_bytes(self, task: TensorTask, start: int, stop: int, writers: Sequence[ShardWriter]) -> None:
        for begin in range(start, stop, self.chunk_bytes):
            end = min(stop, begin + self.chunk_bytes)
            data = self.vlm.read_bytes(task.vlm, begin, end, out=self.buffers.get("copy", end - begin, torch.uint8))
            for writer in writers:
                writer.write(task.name, data)
            self.on_progress(end - begin)

    def _ranges(self, start: int, stop: int) -> list[tuple[int, int]]:
        """Element ranges of at most chunk_bytes of fp32 each."""
        step = max(1, self.chunk_bytes // 4)
        return [(begin, min(stop, begin + step)) for begin in range(start, stop, step)]
