"""Draw samples from data buckets at target shares, deterministically, with resumable positions."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ayavision.data import ConversationRecord, dataset_root, read_records
from ayavision.errors import AyaVisionError


@dataclass(frozen=True)
class SourcedRecord:
    """A record and the dataset root its image paths are relative to."""

    record: ConversationRecord
    root: Path


class MixtureError(AyaVisionError, ValueError):
    """A mixture that cannot be drawn from (an empty bucket with a share, say)."""


def load_bucket(paths: list[Path]) -> list[SourcedRecord]:
    """All records of a bucket's datasets, validated (a bad record raises with its file and line).

    Records are held in memory: only text and image paths (or embedded bytes), not decoded pixels.
    """
    records = []
    for path in paths:
        root = dataset_root(path)
        records.extend(SourcedRecord(record, root) for record in read_records(path))
    return records


def _stream_seed(seed: int, name: str, epoch: int) -> list[int]:
    digest = hashlib.sha256(name.encode()).digest()
    return [seed, int.from_bytes(digest[:4], "little"), epoch]


@dataclass
class _Cycle:
    """A reshuffled-every-epoch cycle over n items; its state is two integers."""

    name: str
    size: int
    seed: int
    epoch: int = 0
    position: int = 0
    _order: np.ndarray | None = field(default=None, repr=False)

    def next(self) -> int:
        if self._order is None:
            self._order = np.random.default_rng(_stream_seed(self.seed, self.name, self.epoch)).permutation(self.size)
        index = int(self._order[self.position])
        self.position += 1
        if self.position == self.size:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        return index


class MixtureSampler:
    """Bucket i is drawn with probability share_i; a `uniform_languages` bucket draws its language uniformly.

    Draw k depends only on (seed, k) and the stream positions, so a saved state resumes the exact sequence.
    """

    def __init__(
        self,
        buckets: dict[str, list[SourcedRecord]],
        shares: dict[str, float],
        uniform_languages: dict[str, bool],
        seed: int,
    ) -> None:
        active = {name: share for name, share in shares.items() if share > 0}
        for name in active:
            if not buckets.get(name):
                raise MixtureError(f"bucket {name!r} has a share of {shares[name]} but no samples")
        self.names = sorted(active)
        total = sum(active.values())
        self.probabilities = np.array([active[n] / total for n in self.names])
        self.seed = seed
        self.draws = 0
        self._groups: dict[str, dict[str, list[int]]] = {}
        self._cycles: dict[str, _Cycle] = {}
        self._buckets = buckets
        for name in self.names:
            records = buckets[name]
            if uniform_languages.get(name):
                by_language: dict[str, list[int]] = {}
                for index, item in enumerate(records):
                    by_language.setdefault(item.record.language, []).append(index)
                groups = dict(sorted(by_language.items()))
            else:
                groups = {"*": list(range(len(records)))}
            self._groups[name] = groups
            for group, members in groups.items():
                key = f"{name}/{group}"
                self._cycles[key] = _Cycle(key, len(members), seed)

    def next(self) -> tuple[str, int]:
        """The next draw as (bucket, index in the bucket)."""
        rng = np.random.default_rng([self.seed, self.draws, 7])
        self.draws += 1
        bucket = self.names[int(rng.choice(len(self.names), p=self.probabilities))]
        groups = self._groups[bucket]
        group = list(groups)[int(rng.integers(len(groups)))]
        member = self._cycles[f"{bucket}/{group}"].next()
        return bucket, groups[group][member]

    def size(self) -> int:
        return sum(len(self._buckets[name]) for name in self.names)

    def state_dict(self) -> dict:
        return {
            "draws": self.draws,
            "cycles": {key: [c.epoch, c.position] for key, c in self._cycles.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.draws = int(state["draws"])
        for key, (epoch, position) in state["cycles"].items():
            if key not in self._cycles:
                raise MixtureError(f"checkpoint stream {key!r} does not exist in this data; was the data changed?")
            cycle = self._cycles[key]
            cycle.epoch, cycle.position, cycle._order = int(epoch), int(position), None


@dataclass
class MixtureReport:
    """Realised shares: what the model was actually trained on, by bucket, language and task."""

    buckets: Counter = field(default_factory=Counter)
    languages: Counter = field(default_factory=Counter)
    tasks: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)  # reason -> samples not trained on
    truncated: int = 0
    samples: int = 0

    def add(self, bucket: str, record: ConversationRecord) -> None:
        self.samples += 1
        self.buckets[bucket] += 1
        self.languages[record.language] += 1
        self.tasks[record.task] += 1

    def shares(self, counter: Counter) -> dict[str, float]:
        total = sum(counter.values()) or 1
        return {key: round(count / total, 4) for key, count in sorted(counter.items())}

    def to_dict(self) -> dict:
        return {
            "samples": self.samples,
            "truncated": self.truncated,
            "skipped": dict(self.skipped),
            "bucket_shares": self.shares(self.buckets),
            "language_shares": self.shares(self.languages),
            "task_shares": self.shares(self.tasks),
            "counts": {"buckets": dict(self.buckets), "languages": dict(self.languages), "tasks": dict(self.tasks)},
        }

    def state_dict(self) -> dict:
        return {
            "buckets": dict(self.buckets),
            "languages": dict(self.languages),
            "tasks": dict(self.tasks),
            "skipped": dict(self.skipped),
            "truncated": self.truncated,
            "samples": self.samples,
        }

    def load_state_dict(self, state: dict) -> None:
        self.buckets, self.languages = Counter(state["buckets"]), Counter(state["languages"])
        self.tasks, self.skipped = Counter(state["tasks"]), Counter(state["skipped"])
        self.truncated, self.samples = int(state["truncated"]), int(state["samples"])
