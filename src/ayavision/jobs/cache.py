"""The request cache: answers keyed by what determines them, in append-only JSONL shards that survive kill -9.

Each process writes its own shard (``<host>-<pid>-<random>.jsonl``), so Ray workers on a shared folder
never write to the same file; every process reads all shards at start. A line is written and flushed as
soon as its answer arrives (a killed process keeps it: the OS has it) and fsynced in batches (a lost
machine loses at most the last second). Shards follow the ``JsonLog`` rule, read without repair (another
process may be writing one): a torn last line is passed over.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ayavision.backends import Backend, ChatRequest, ChatResponse
from ayavision.jobs.journal import JsonLog


def cache_key(identity: dict[str, Any], request: ChatRequest) -> str:
    """Backend identity (kind, model...) plus the request's fingerprint (rendered template, record, settings).

    How an answer is parsed is not part of it: fixing a parser never re-queries the model.
    """
    who = json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{who}\n{request.fingerprint()}".encode()).hexdigest()


class RequestCache:
    """``get``/``put`` answers; ``directory=None`` caches nothing (every request goes to the backend)."""

    def __init__(self, directory: str | Path | None, fsync_interval: float = 1.0) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.fsync_interval = fsync_interval
        self._index: dict[str, tuple[int, int]] = {}  # key -> (shard number, byte offset)
        self._shards: list[Path] = []
        self._readers: dict[int, BinaryIO] = {}
        self._writer: JsonLog | None = None
        self._writer_shard = -1
        self.torn_lines = 0
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            for path in sorted(self.directory.glob("*.jsonl")):
                self._load(path)

    def __len__(self) -> int:
        return len(self._index)

    def _load(self, path: Path) -> None:
        shard = len(self._shards)
        self._shards.append(path)
        log = JsonLog(path)
        for _, offset, entry in log.scan(repair=False):
            if "key" in entry:
                self._index[entry["key"]] = (shard, offset)
        self.torn_lines += log.torn_bytes > 0  # written by a process killed mid-line: not an answer

    def get(self, key: str) -> ChatResponse | None:
        where = self._index.get(key)
        if where is None:
            return None
        shard, offset = where
        reader = self._readers.get(shard)
        if reader is None:
            reader = self._readers[shard] = open(self._shards[shard], "rb")  # noqa: SIM115 - kept open for reuse
        entry = JsonLog.read_at(reader, offset)
        return ChatResponse(
            text=entry["text"],
            finish_reason=entry.get("finish_reason"),
            prompt_tokens=entry.get("prompt_tokens"),
            completion_tokens=entry.get("completion_tokens"),
        )

    def put(self, key: str, response: ChatResponse) -> None:
        if self.directory is None or key in self._index:
            return
        if self._writer is None:
            path = self.directory / f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}.jsonl"
            self._writer = JsonLog(path, fsync_interval=self.fsync_interval, fsync_every=2**62)
            self._writer_shard = len(self._shards)
            self._shards.append(path)
        entry = {
            "key": key,
            "text": response.text,
            "finish_reason": response.finish_reason,
            "prompt_tokens": response.prompt_tokens,
            "completion_tokens": response.completion_tokens,
        }
        (offset,) = self._writer.append([entry])
        self._index[key] = (self._writer_shard, offset)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        for handle in self._readers.values():
            handle.close()
        self._readers.clear()
        self._writer = None


@dataclass
class Tally:
    """What one item's requests cost: sent to the backend, or answered from the cache (or a twin in flight)."""

    requests: int = 0
    cached: int = 0


class CachedChat:
    """A backend behind the request cache; identical requests in flight at once share one call."""

    def __init__(self, backend: Backend | None, cache: RequestCache) -> None:
        self.backend = backend
        self.cache = cache
        self.identity = backend.identity() if backend is not None else {}
        self.in_flight: dict[str, asyncio.Future[ChatResponse]] = {}

    async def chat(self, request: ChatRequest, tally: Tally | None = None) -> ChatResponse:
        """The answer; ``tally`` counts whether it was sent or found."""
        if self.backend is None:
            raise RuntimeError("this job was built without a backend")
        tally = tally if tally is not None else Tally()
        key = cache_key(self.identity, request)
        cached = self.cache.get(key)
        if cached is not None:
            tally.cached += 1
            return cached
        waiting = self.in_flight.get(key)
        if waiting is not None:  # the same request is already out (two records with one prompt): wait for it
            tally.cached += 1
            return await asyncio.shield(waiting)
        future: asyncio.Future[ChatResponse] = asyncio.get_running_loop().create_future()
        self.in_flight[key] = future
        tally.requests += 1
        try:
            response = await self.backend.chat(request)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as err:
            future.set_exception(err)
            future.exception()  # mark it retrieved: nobody else may be waiting
            raise
        finally:
            del self.in_flight[key]
        self.cache.put(key, response)
        future.set_result(response)
        return response
