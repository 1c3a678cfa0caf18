"""Data worker processes: samples planned and images decoded and tiled in N processes, results in submission order.

Every task gets a ticket number and results are put back in ticket order, so what the packer sees does not depend
on how many workers there are or which one finished first. Nothing here queues without bound: callers
keep at most `capacity` tickets in flight, and a worker that dies is named in the error the next wait raises.
"""

from __future__ import annotations

import contextlib
import os
import queue
import traceback
from typing import Any

import torch
import torch.multiprocessing as mp

from ayavision.train.samples import SampleBuilder

# How long one wait on the result queue lasts before the workers' liveness is checked again.
POLL_SECONDS = 0.5
# Most workers "auto" starts: past this a GPU's input is not the bottleneck (docs/benchmarks.md, Input pipeline).
AUTO_MAX_WORKERS = 8


class DataWorkerError(RuntimeError):
    """A data worker process died, or failed in a way that could not be reported as the original error."""


def auto_workers(local_processes: int, cores: int | None = None) -> int:
    """Workers per training process for `num_workers: auto`: its share of the cores, minus one for the training loop.

    With fewer than two cores to spare, samples are built in the training process's background thread instead
    (num_workers 0): a single worker process would only compete with the loop for the same core.
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    spare = cores // max(1, local_processes) - 1
    return min(AUTO_MAX_WORKERS, spare) if spare >= 2 else 0


def _work(builder: SampleBuilder, kind: str, payload: Any) -> Any:
    if kind == "plan":
        item, source = payload
        return builder.plan(item, source), builder.skip_reason, builder.truncated
    return builder.pixels(payload)


def _worker_main(builder: SampleBuilder, tasks: mp.Queue, results: mp.Queue, parent: int) -> None:
    # One core per worker: N workers use N cores, and a forked child must not start its own OpenMP pool.
    torch.set_num_threads(1)
    while True:
        try:
            task = tasks.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if os.getppid() != parent:  # the training process died without closing the pool (kill -9)
                return
            continue
        if task is None:
            return
        ticket, kind, payload = task
        try:
            results.put((ticket, _work(builder, kind, payload), None))
        except Exception as err:  # handed to the caller, which raises it as if it were its own
            results.put((ticket, None, _portable(err)))


def _portable(err: Exception) -> Exception:
    """The error itself when it pickles (SampleError, DataError...), otherwise its text in a DataWorkerError."""
    import pickle

    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:
        return DataWorkerError("".join(traceback.format_exception(err)).strip())


class WorkerPool:
    """N worker processes, each with its own SampleBuilder; `submit` hands out work, `take` returns it in order.

    Workers take tasks from one shared queue (whichever is free takes the next, so a slow image holds up no
    other work); the ticket, not the worker, fixes where a result goes. Pixel tensors come back through shared
    memory (torch.multiprocessing): mapped, not copied, and no file descriptor stays open for them here.
    """

    def __init__(self, builder: SampleBuilder, workers: int, capacity: int) -> None:
        if workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        # fork: a worker starts in milliseconds with the builder already in memory (spawn re-imports torch and
        # transformers, seconds per worker). Workers are started before the training loop's threads.
        context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self.capacity = capacity
        self._results = context.Queue()
        self._tasks = context.Queue()
        self._workers = [
            context.Process(target=_worker_main, args=(builder, self._tasks, self._results, os.getpid()), daemon=True)
            for _ in range(workers)
        ]
        for worker in self._workers:
            worker.start()
        self._next_ticket = 0
        self._pending: set[int] = set()
        self._ready: dict[int, tuple[Any, Exception | None]] = {}

    @property
    def workers(self) -> int:
        return len(self._workers)

    @property
    def in_flight(self) -> int:
        return len(self._pending) + len(self._ready)

    def submit(self, kind: str, payload: Any) -> int:
        """Queue one piece of work ('plan': (record, source); 'pixels': record); returns its ticket."""
        if self.in_flight >= self.capacity:
            raise RuntimeError(f"more than {self.capacity} data tasks in flight: take results before submitting")
        ticket = self._next_ticket
        self._next_ticket += 1
        self._tasks.put((ticket, kind, payload))
        self._pending.add(ticket)
        return ticket

    def take(self, ticket: int) -> Any:
        """The result of `ticket`, waiting for it; raises the worker's error, or DataWorkerError if one died."""
        self._check_alive()  # a dead worker fails the run even when the others could absorb its share
        while ticket not in self._ready:
            if ticket not in self._pending:
                raise KeyError(f"data task {ticket} was never submitted or was taken already")
            try:
                done, result, error = self._results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                self._check_alive()
                continue
            self._pending.discard(done)
            self._ready[done] = (result, error)
        result, error = self._ready.pop(ticket)
        if error is not None:
            raise error
        return result

    def drain(self) -> None:
        """Wait for and drop every result still in flight (before restarting from a saved position)."""
        for ticket in sorted(self._pending | set(self._ready)):
            try:
                self.take(ticket)
            except DataWorkerError:
                raise
            except Exception:  # the work is being thrown away, and its error with it
                continue

    def _check_alive(self) -> None:
        for index, worker in enumerate(self._workers):
            if worker.exitcode is not None:
                raise DataWorkerError(
                    f"data worker {index} (pid {worker.pid}) died with exit code {worker.exitcode} while building "
                    "samples (a negative code is the signal that killed it: -9 is often the out-of-memory killer); "
                    "the run cannot continue with its work lost: resume it from the last checkpoint"
                )

    def close(self) -> None:
        for _ in self._workers:
            with contextlib.suppress(OSError, ValueError):  # a queue already broken by a dead worker
                self._tasks.put(None)
        for worker in self._workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
                worker.join(timeout=5)
        for q in (self._tasks, self._results):
            q.cancel_join_thread()
            q.close()
