"""The request cache: answers keyed by what determines them, in append-only JSONL shards that survive kill -9.

Each process writes its own shard (``<host>-<pid>-<random>.jsonl``), so Ray workers on a shared folder
never write to the same file; every process reads all shards at start. A line is written and flushed as
soon as its answer arrives (a killed process keeps it: the OS has it) and fsynced in batches (a lost
machine loses at most the last second). A torn last line is skipped on reading.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import time
from pathlib import Path
from typing import Any, BinaryIO

from ayavision.backends import ChatRequest, ChatResponse


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
        self._writer: BinaryIO | None = None
        self._writer_shard = -1
        self._last_sync = time.monotonic()
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
        offset = 0
        with open(path, "rb") as handle:
            for line in handle:
                start, offset = offset, offset + len(line)
                if not line.endswith(b"\n"):
                    self.torn_lines += 1  # written by a process killed mid-line: not an answer
                    continue
                try:
                    key = json.loads(line)["key"]
                except (ValueError, KeyError, TypeError):
                    self.torn_lines += 1
                    continue
                self._index[key] = (shard, start)

    def get(self, key: str) -> ChatResponse | None:
        where = self._index.get(key)
        if where is None:
            return None
        shard, offset = where
        reader = self._readers.get(shard)
        if reader is None:
            reader = self._readers[shard] = open(self._shards[shard], "rb")  # noqa: SIM115 - kept open for reuse
        reader.seek(offset)
        entry = json.loads(reader.readline())
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
            name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}.jsonl"
            path = self.directory / name
            self._writer = open(path, "ab")  # noqa: SIM115 - an append log held for the process's life
            self._writer_shard = len(self._shards)
            self._shards.append(path)
        entry = {
            "key": key,
            "text": response.text,
            "finish_reason": response.finish_reason,
            "prompt_tokens": response.prompt_tokens,
            "completion_tokens": response.completion_tokens,
        }
        offset = self._writer.tell()
        self._writer.write((json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
        self._writer.flush()
        self._index[key] = (self._writer_shard, offset)
        if time.monotonic() - self._last_sync >= self.fsync_interval:
            self.sync()

    def sync(self) -> None:
        if self._writer is not None:
            self._writer.flush()
            os.fsync(self._writer.fileno())
        self._last_sync = time.monotonic()

    def close(self) -> None:
        self.sync()
        for handle in [*self._readers.values(), *([self._writer] if self._writer else [])]:
            handle.close()
        self._readers.clear()
        self._writer = None
