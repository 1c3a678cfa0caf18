"""A step's folder, and turning its journal into the ledger and the output dataset, in input order."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ayavision.annotate.journal import Journal
from ayavision.annotate.records import record_from_json
from ayavision.data import ConversationRecord, DataError, write_parquet_shards
from ayavision.utils.fs import atomic_file, atomic_write_text

MEDIA = "media"  # the link in a step folder through which JSONL outputs reach the input's images


@dataclass(frozen=True)
class StepPaths:
    root: Path

    @property
    def journal(self) -> Path:
        return self.root / ".work" / "journal.jsonl"

    @property
    def ledger(self) -> Path:
        return self.root / "ledger.jsonl"

    @property
    def summary(self) -> Path:
        """Written last: its presence means the step finished."""
        return self.root / "summary.json"

    @property
    def step_file(self) -> Path:
        return self.root / "step.json"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def data(self, fmt: Literal["jsonl", "parquet"]) -> Path:
        return self.root / ("data.jsonl" if fmt == "jsonl" else "data")

    def clear(self) -> None:
        """Remove everything a run wrote except the request cache (answers stay valid)."""
        (self.root / ".work" / "journal.jsonl").unlink(missing_ok=True)  # .work/lock stays: this run holds it
        shutil.rmtree(self.root / "data", ignore_errors=True)
        for path in (self.ledger, self.summary, self.step_file, self.root / "data.jsonl", self.root / MEDIA):
            if path.is_symlink() or path.is_file():
                path.unlink()


def reason_code(reason: str) -> str:
    """The kind of a reason, for counting: its text before any detail in parentheses or after a colon."""
    return reason.split(" (")[0].split(":")[0].strip() or "(none)"


class _MediaLink:
    """Re-expresses image paths for a JSONL output through one ``media`` link to the input's images.

    Chained steps do not stack links: an input that itself reaches its images through ``media/``
    is linked to the same target, so paths stay ``media/<original path>`` however many steps run.
    """

    def __init__(self, input_root: Path, out_dir: Path) -> None:
        inner = input_root / MEDIA
        self.passthrough = inner.is_symlink()
        self.target = (inner if self.passthrough else input_root).resolve()
        self.link = out_dir / MEDIA
        self.used = False

    def rewrite(self, record: ConversationRecord) -> ConversationRecord:
        if not record.image_paths():
            return record
        self.used = True
        images = []
        for image in record.images:
            if isinstance(image, str):
                if self.passthrough:
                    if not image.startswith(f"{MEDIA}/"):
                        raise DataError(f"record {record.id!r}: image {image!r} is not under the input's {MEDIA}/ link")
                else:
                    image = f"{MEDIA}/{image}"
            images.append(image)
        return record.model_copy(update={"images": images})

    def create(self) -> None:
        if not self.used:
            return
        if self.link.exists() and not self.link.is_symlink():
            raise DataError(f"{self.link} exists and is not a link; it is needed to reach the input's images")
        tmp = self.link.with_name(f".{MEDIA}.tmp")
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(self.target, tmp, target_is_directory=True)
        os.replace(tmp, self.link)


@dataclass(frozen=True)
class StepCounts:
    """What a finished step's ``summary.json`` says, typed: every input record counted once."""

    step: str
    total: int
    kept: int
    dropped: int
    failed: int
    retryable: int  # failures a rerun retries
    outputs: int  # output records
    requests: int  # sent to the backend
    cached: int  # answered from the request cache
    reasons: dict[str, int]  # "dropped: <code>" / "failed: <code>" -> records
    out_dir: Path
    output: Path  # the output dataset

    @classmethod
    def of(cls, summary: dict[str, Any]) -> StepCounts:
        out_dir = Path(summary["out_dir"])
        return cls(
            step=summary["step"], total=summary["total"], kept=summary["kept"], dropped=summary["dropped"],
            failed=summary["failed"], retryable=summary.get("retryable", 0), outputs=summary["outputs"],
            requests=summary["requests"], cached=summary["cached"], reasons=dict(summary["reasons"]),
            out_dir=out_dir, output=out_dir / summary["output"],
        )  # fmt: skip


def finalize(
    paths: StepPaths,
    journal: Journal,
    total: int,
    input_root: Path,
    fmt: Literal["jsonl", "parquet"],
    header: dict[str, Any],
) -> dict[str, Any]:
    """Write ``ledger.jsonl`` (one line per input record), the output dataset and ``summary.json`` (last)."""
    missing = [i for i in range(total) if i not in journal.done]
    if missing:
        raise RuntimeError(f"{len(missing)} input record(s) have no ledger entry (first: index {missing[0]})")
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    totals = {"outputs": 0, "requests": 0, "cached": 0, "retryable": 0}
    media = _MediaLink(input_root, paths.root)

    def records(ledger) -> Iterator[ConversationRecord]:
        with open(journal.path, "rb") as handle:
            for index in range(total):
                entry = journal.read(journal.done[index].offset, handle)
                outputs = entry.pop("outputs")
                # Request counts depend on timing (what was cached, what ran at once): totals only, so that
                # the ledger of a resumed or a Ray run is byte-identical to an uninterrupted local one.
                requests, cached = entry.pop("requests", 0), entry.pop("cached", 0)
                entry["outputs"] = len(outputs)
                ledger.write(json.dumps(entry, ensure_ascii=False) + "\n")
                counts[entry["status"]] += 1
                if entry["status"] != "kept":
                    reasons[f"{entry['status']}: {reason_code(entry['reason'])}"] += 1
                totals["outputs"] += len(outputs)
                totals["requests"] += requests
                totals["cached"] += cached
                totals["retryable"] += bool(entry.get("retryable"))
                for output in outputs:
                    record = record_from_json(output)
                    yield media.rewrite(record) if fmt == "jsonl" else record

    out = paths.data(fmt)
    with atomic_file(paths.ledger) as ledger:
        if fmt == "jsonl":
            with atomic_file(out) as handle:
                for record in records(ledger):
                    if record.has_embedded_images():
                        raise DataError(f"record {record.id!r} embeds image bytes: use output_format parquet")
                    handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
            media.create()
        else:
            write_parquet_shards(records(ledger), out, input_root, overwrite=True)
    summary = {
        **header,
        "total": total,
        "kept": counts["kept"],
        "dropped": counts["dropped"],
        "failed": counts["failed"],
        **totals,
        "reasons": dict(reasons.most_common()),
        "output": out.name,
        "format": fmt,
    }
    atomic_write_text(paths.summary, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary
