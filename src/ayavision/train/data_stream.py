"""The stream of packed rows a stage trains on: mixture draws -> samples -> rows, resumable as a whole."""

from __future__ import annotations

from transformers import AyaVisionProcessor

from ayavision.train.config import StageConfig, TrainRecipe
from ayavision.train.mixture import MixtureReport, MixtureSampler, SourcedRecord, load_bucket
from ayavision.train.packing import Packer
from ayavision.train.samples import Sample, SampleBuilder

# Give up on a mixture whose draws are almost all unusable instead of spinning forever.
MAX_CONSECUTIVE_SKIPS = 10_000


class RowStream:
    """Every process builds the same rows in the same order, then trains on its own slice of them."""

    def __init__(
        self,
        recipe: TrainRecipe,
        stage: StageConfig,
        processor: AyaVisionProcessor,
        stop_ids: int | list[int] | None = None,
    ) -> None:
        self.buckets: dict[str, list[SourcedRecord]] = {
            name: load_bucket(recipe.buckets[name].paths) for name, share in stage.mixture.items() if share > 0
        }
        uniform = {name: recipe.buckets[name].uniform_languages for name in self.buckets}
        self.sampler = MixtureSampler(self.buckets, stage.mixture, uniform, stage.seed)
        self.builder = SampleBuilder(processor, stage.seq_len, stage.overflow, stop_ids)
        self.report = MixtureReport()
        self.packer = Packer(self._next_sample, stage.seq_len, stage.packing, stage.pack_buffer)

    def _build(self, source: tuple[str, int]) -> Sample | None:
        bucket, index = source
        return self.builder.build(self.buckets[bucket][index], source)

    def _next_sample(self) -> Sample:
        for _ in range(MAX_CONSECUTIVE_SKIPS):
            source = self.sampler.next()
            sample = self._build(source)
            if sample is None:
                self.report.skipped[self.builder.skip_reason or "unknown"] += 1
                continue
            self.report.truncated += int(self.builder.truncated)
            self.report.add(source[0], self.buckets[source[0]][source[1]].record)
            return sample
        raise ValueError(
            f"{MAX_CONSECUTIVE_SKIPS} samples in a row could not be used: {dict(self.report.skipped)}; "
            "raise seq_len or change the overflow policy"
        )

    def next_rows(self, count: int) -> list[list[Sample]]:
        return [self.packer.next_row() for _ in range(count)]

    def state_dict(self) -> dict:
        return {
            "sampler": self.sampler.state_dict(),
            "report": self.report.state_dict(),
            "pending": [list(s.source) for s in self.packer.pending],
        }

    def load_state_dict(self, state: dict) -> None:
        self.sampler.load_state_dict(state["sampler"])
        self.report.load_state_dict(state["report"])
        pending = [self._build((bucket, int(index))) for bucket, index in state["pending"]]
        self.packer.pending = [s for s in pending if s is not None]


class Prefetcher:
    """Builds the next global batches in a background thread while the model trains on the current one.

    Tokenising and decoding images is Python work that torch's kernels (which release the GIL) can
    overlap. Each batch comes with the stream state right after it, so a checkpoint records exactly
    the rows consumed, not the ones prefetched.
    """

    def __init__(self, stream: RowStream, rows_per_batch: int, depth: int = 2) -> None:
        import queue
        import threading

        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._stream = stream
        self._rows = rows_per_batch
        self._thread = threading.Thread(target=self._produce, daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        import queue

        while not self._stop.is_set():
            try:
                item = (self._stream.next_rows(self._rows), self._stream.state_dict(), None)
            except BaseException as err:  # handed to the consumer, which raises it
                item = (None, None, err)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item[2] is not None:
                return

    def next(self) -> tuple[list[list[Sample]], dict]:
        rows, state, error = self._queue.get()
        if error is not None:
            raise error
        return rows, state

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
