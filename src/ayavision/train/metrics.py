"""Training metrics: an append-only JSONL log, a progress bar, and the FLOPs estimate behind MFU."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn


class MetricsLog:
    """One JSON object per logged step, flushed at once so a crash keeps every finished step."""

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled

    def truncate_after(self, step: int) -> None:
        """On resume, drop lines of steps after the checkpoint: they will be trained again."""
        if not self.path.exists():
            return
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line)["step"] <= step:
                    kept.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a line torn by a crash
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(k + "\n" for k in kept), encoding="utf-8")
        os.replace(tmp, self.path)

    def write(self, record: dict) -> None:
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()


def read_metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


class TrainProgress:
    """A rich progress bar with loss, learning rate, tokens/s and ETA (main process only)."""

    def __init__(self, total: int, start: int, enabled: bool = True) -> None:
        self.enabled = enabled
        if not enabled:
            return
        self.progress = Progress(
            TextColumn("step {task.completed}/{task.total}"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(),
            transient=False,
        )
        self.task = self.progress.add_task("train", total=total, completed=start, info="")
        self.progress.start()

    def update(self, step: int, loss: float, lrs: dict[str, float], tokens_per_s: float) -> None:
        if not self.enabled:
            return
        lr = max(lrs.values()) if lrs else 0.0
        self.progress.update(self.task, completed=step, info=f"loss {loss:.4f}  lr {lr:.2e}  {tokens_per_s:,.0f} tok/s")

    def close(self) -> None:
        if self.enabled:
            self.progress.stop()


def flops_per_token(model: nn.Module) -> float:
    """Training FLOPs per token: 2N forward for every weight, plus 4N backward for the trained ones.

    Frozen weights still pass gradients back to earlier trained layers, so this undercounts a little:
    an estimate for MFU, not an accounting.
    """
    total = sum(p.numel() for p in model.parameters())
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return 2.0 * total + 4.0 * trained


def step_time_summary(records: list[dict]) -> dict[str, float] | None:
    """Median, p95 and max seconds per step (data + compute + update) of a stage's metrics.jsonl records.

    A p95 far above the median means steps that stalled (another process on the cores, a slow disk), not a slower
    model: compare the two before reading throughput.
    """
    times = sorted(sum(r["seconds"].values()) for r in records if isinstance(r.get("seconds"), dict))
    if not times:
        return None
    middle = len(times) // 2
    median = times[middle] if len(times) % 2 else (times[middle - 1] + times[middle]) / 2
    return {"steps": len(times), "p50": median, "p95": times[round(0.95 * (len(times) - 1))], "max": times[-1]}
