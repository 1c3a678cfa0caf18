"""Shared pieces of the pretraining loops: threads, seeds, the schedule, and a consistent report line."""

from __future__ import annotations

import json
import math
import queue
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ayavision.world.cache import MARKER, cached
from ayavision.world.config import Strict


def tokenizer_key(tokenizer: str | Path) -> str:
    """The tokenizer an output was made with: its fingerprint, so a new tokenizer retrains what depends on it."""
    try:
        return json.loads((Path(tokenizer) / MARKER).read_text(encoding="utf-8"))["fingerprint"]
    except (OSError, KeyError, ValueError):
        return str(Path(tokenizer).resolve())


def reusable(out: str | Path, kind: str, config: Strict, tokenizer: str | Path) -> dict[str, Any] | None:
    """The summary of a finished part in ``out`` made with this config and this tokenizer, or None."""
    done = cached(out, kind, config)
    return done if done is not None and done.get("tokenizer") == tokenizer_key(tokenizer) else None


def set_threads(threads: int) -> None:
    if threads > 0:
        torch.set_num_threads(threads)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def lr_at(step: int, total: int, peak: float, warmup: int, floor: float = 0.1) -> float:
    """Linear warmup, then cosine decay to ``floor`` x peak (the recipe's schedule, in miniature)."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    # No decay on norms, biases and embeddings of positions: the usual split.
    decay, keep = [], []
    for name, param in model.named_parameters():
        (keep if param.ndim < 2 or "norm" in name or "position" in name else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": keep, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95))


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, parameters, max_norm: float = 1.0) -> None:
    """One update: gradients of ``loss`` clipped to ``max_norm``, then the optimizer's step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    optimizer.step()


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def prefetch(make: Callable[[int], Any], count: int, depth: int = 4) -> Iterator[Any]:
    """``make(0) .. make(count - 1)`` computed in a background thread, ``depth`` ahead.

    Building a batch is Python work; torch releases the GIL while it computes, so the two overlap.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for index in range(count):
                if stop.is_set():
                    return
                items.put((None, make(index)))
        except BaseException as err:  # handed to the consumer, who raises it
            items.put((err, None))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        for _ in range(count):
            err, item = items.get()
            if err is not None:
                raise err
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                items.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
