"""Turn many concurrent ``chat`` calls into batches for a model that runs one batch at a time in a thread."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    """Collects submitted items by ``key`` (items of one key can share a ``generate`` call) into batches.

    ``run_batch`` runs in a worker thread (the event loop keeps serving) and returns one result or one
    exception per item, so a bad item fails alone. One batch runs at a time: one model, one device.
    """

    def __init__(
        self,
        run_batch: Callable[[list[T]], list[R | BaseException]],
        batch_size: int,
        wait_s: float = 0.005,
        key: Callable[[T], Hashable] = lambda item: None,
    ) -> None:
        self.run_batch = run_batch
        self.batch_size = batch_size
        self.wait_s = wait_s
        self.key = key
        self._groups: OrderedDict[Hashable, list[tuple[T, asyncio.Future[R]]]] = OrderedDict()
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._worker is None or self._worker.done():
            self._loop, self._wake = loop, asyncio.Event()
            self._groups.clear()
            self._worker = loop.create_task(self._work())
        future: asyncio.Future[R] = loop.create_future()
        self._groups.setdefault(self.key(item), []).append((item, future))
        assert self._wake is not None
        self._wake.set()
        return await future

    def _take(self) -> list[tuple[T, asyncio.Future[R]]]:
        # The group that has waited longest goes first (OrderedDict keeps first-arrival order).
        key = next(iter(self._groups))
        group = self._groups[key]
        batch, rest = group[: self.batch_size], group[self.batch_size :]
        if rest:
            self._groups[key] = rest
            self._groups.move_to_end(key)
        else:
            del self._groups[key]
        return batch

    async def _work(self) -> None:
        assert self._wake is not None
        while True:
            if not self._groups:
                self._wake.clear()
                await self._wake.wait()
            if max(len(g) for g in self._groups.values()) < self.batch_size:
                await asyncio.sleep(self.wait_s)  # let callers issued in the same instant join this batch
            batch = [(item, future) for item, future in self._take() if not future.cancelled()]
            if not batch:
                continue
            try:
                results = await asyncio.to_thread(self.run_batch, [item for item, _ in batch])
            except Exception as err:  # the whole batch failed (out of memory, say): each caller hears it
                results = [err] * len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if future.cancelled():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def aclose(self) -> None:
        if self._worker is not None and self._loop is asyncio.get_running_loop():
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._worker = None
