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

    def __init__(self, recipe: TrainRecipe, stage: StageConfig, processor: AyaVisionProcessor) -> None:
        self.buckets: dict[str, list[SourcedRecord]] = {
            name: load_bucket(recipe.buckets[name].paths) for name, share in stage.mixture.items() if share > 0
        }
        uniform = {name: recipe.buckets[name].uniform_languages for name in self.buckets}
        self.sampler = MixtureSampler(self.buckets, stage.mixture, uniform, stage.seed)
        self.builder = SampleBuilder(processor, stage.seq_len, stage.overflow)
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
