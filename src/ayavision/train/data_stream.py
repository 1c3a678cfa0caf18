"""The stream of packed rows a stage trains on: mixture draws -> samples -> rows, resumable as a whole."""

from __future__ import annotations

from collections import deque

from transformers import AyaVisionProcessor

from ayavision.errors import ConfigError
from ayavision.train.config import StageConfig, TrainRecipe
from ayavision.train.data_workers import WorkerPool
from ayavision.train.mixture import MixtureReport, MixtureSampler, SourcedRecord, load_bucket
from ayavision.train.packing import Packer
from ayavision.train.samples import Sample, SampleBuilder

# Give up on a mixture whose draws are almost all unusable instead of spinning forever.
MAX_CONSECUTIVE_SKIPS = 10_000
# Per worker: draws planned ahead of the packer, and images being decoded at once. Together they bound what is
# in flight (and in memory): a planned sample is token ids; an image task ends as one sample's pixels.
PLAN_AHEAD_PER_WORKER = 8
PIXELS_AHEAD_PER_WORKER = 2


class RowStream:
    """Every process plans the same rows in the same order, then makes pixels only for its own slice of them.

    A sample is made in two parts (``SampleBuilder.plan`` and ``.pixels``): the tokens, which every process needs
    to pack the same rows, and the image tiles, which only the process training on the sample needs. With
    ``workers`` > 0 both parts run in worker processes; the rows are the same for any number of workers.
    """

    def __init__(
        self,
        recipe: TrainRecipe,
        stage: StageConfig,
        processor: AyaVisionProcessor,
        stop_ids: int | list[int] | None = None,
        workers: int = 0,
    ) -> None:
        self.buckets: dict[str, list[SourcedRecord]] = {
            name: load_bucket(recipe.buckets[name].paths) for name, share in stage.mixture.items() if share > 0
        }
        uniform = {name: recipe.buckets[name].uniform_languages for name in self.buckets}
        self.sampler = MixtureSampler(self.buckets, stage.mixture, uniform, stage.seed)
        self.builder = SampleBuilder(processor, stage.seq_len, stage.overflow, stop_ids)
        self.report = MixtureReport()
        self.packer = Packer(self._next_sample, stage.seq_len, stage.packing, stage.pack_buffer)
        self.pool: WorkerPool | None = None
        if workers:
            capacity = (PLAN_AHEAD_PER_WORKER + PIXELS_AHEAD_PER_WORKER) * workers
            self.pool = WorkerPool(self.builder, workers, capacity)
        self._plan_ahead = PLAN_AHEAD_PER_WORKER * workers
        # Draws handed to the workers but not yet packed: (ticket, source, sampler state right after the draw).
        self._ahead: deque[tuple[int, tuple[str, int], dict]] = deque()
        self._consumed_sampler: dict | None = None  # the sampler's state as of the last packed draw
        self._replay: list[tuple[str, int]] | None = None  # pending samples of a loaded state, not yet rebuilt

    def _item(self, source: tuple[str, int]) -> SourcedRecord:
        return self.buckets[source[0]][source[1]]

    def _planned(self) -> tuple[tuple[str, int], Sample | None, str | None, bool]:
        """The next draw, planned: (source, sample or None, skip reason, truncated)."""
        if self.pool is None:
            source = self.sampler.next()
            sample = self.builder.plan(self._item(source), source)
            return source, sample, self.builder.skip_reason, self.builder.truncated
        while len(self._ahead) < self._plan_ahead:
            source = self.sampler.next()
            ticket = self.pool.submit("plan", (self._item(source), source))
            self._ahead.append((ticket, source, self.sampler.state_dict()))
        ticket, source, after = self._ahead.popleft()
        sample, reason, truncated = self.pool.take(ticket)
        self._consumed_sampler = after
        return source, sample, reason, truncated

    def _next_sample(self) -> Sample:
        for _ in range(MAX_CONSECUTIVE_SKIPS):
            source, sample, reason, truncated = self._planned()
            if sample is None:
                self.report.skipped[reason or "unknown"] += 1
                continue
            self.report.truncated += int(truncated)
            self.report.add(source[0], self._item(source).record)
            return sample
        raise ConfigError(
            f"{MAX_CONSECUTIVE_SKIPS} samples in a row could not be used: {dict(self.report.skipped)}; "
            "raise seq_len or change the overflow policy"
        )

    def _restore_pending(self) -> None:
        """Rebuild the packer's look-ahead of a loaded state (already drawn and counted: not drawn again)."""
        sources, self._replay = self._replay or [], None
        planned = []
        for start in range(0, len(sources), max(1, self._plan_ahead)):
            chunk = sources[start : start + max(1, self._plan_ahead)]
            if self.pool is None:
                planned.extend(self.builder.plan(self._item(s), s) for s in chunk)
            else:
                tickets = [self.pool.submit("plan", (self._item(s), s)) for s in chunk]
                planned.extend(self.pool.take(t)[0] for t in tickets)
        self.packer.pending = [s for s in planned if s is not None]

    def next_rows(self, count: int) -> list[list[Sample]]:
        """The next `count` rows, planned (tokens and lengths, no pixels): see :meth:`add_pixels`."""
        if self._replay is not None:
            self._restore_pending()
        return [self.packer.next_row() for _ in range(count)]

    def add_pixels(self, rows: list[list[Sample]]) -> None:
        """Make the image tiles of these rows' samples, in the workers when there are some."""
        todo = [s for row in rows for s in row if s.tiles and s.pixel_values is None]
        if self.pool is None:
            for sample in todo:
                sample.pixel_values = self.builder.pixels(self._item(sample.source))
            return
        waiting: deque[tuple[int, Sample]] = deque()
        for sample in todo:
            while self.pool.in_flight >= self.pool.capacity:
                ticket, done = waiting.popleft()
                done.pixel_values = self.pool.take(ticket)
            waiting.append((self.pool.submit("pixels", self._item(sample.source)), sample))
        for ticket, done in waiting:
            done.pixel_values = self.pool.take(ticket)

    def state_dict(self) -> dict:
        sampler = self._consumed_sampler if self._consumed_sampler is not None else self.sampler.state_dict()
        pending = self._replay if self._replay is not None else [s.source for s in self.packer.pending]
        return {
            "sampler": sampler,
            "report": self.report.state_dict(),
            "pending": [list(source) for source in pending],
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from a saved position: work in flight is dropped and the workers restart from there."""
        if self.pool is not None:
            self.pool.drain()
        self._ahead.clear()
        self._consumed_sampler = None
        self.sampler.load_state_dict(state["sampler"])
        self.report.load_state_dict(state["report"])
        self.packer.pending = []
        self._replay = [(bucket, int(index)) for bucket, index in state["pending"]]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None


class Prefetcher:
    """Builds the next global batches in a background thread while the model trains on the current one.

    Each batch's rows are planned in full (every process packs the same rows) and get pixels for this process's
    slice (`own`: first row and row count) only. Each batch comes with the stream state right after it, so a
    checkpoint records exactly the rows consumed, not the ones prefetched.
    """

    def __init__(self, stream: RowStream, rows_per_batch: int, own: tuple[int, int], depth: int = 2) -> None:
        import queue
        import threading

        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._stream = stream
        self._rows = rows_per_batch
        self._own = own
        self._thread = threading.Thread(target=self._produce, daemon=True)
        self._thread.start()

    def _batch(self) -> tuple[list[list[Sample]], dict, None]:
        rows = self._stream.next_rows(self._rows)
        state = self._stream.state_dict()
        first, count = self._own
        self._stream.add_pixels(rows[first : first + count])
        return rows, state, None

    def _produce(self) -> None:
        import queue

        while not self._stop.is_set():
            try:
                item = self._batch()
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
