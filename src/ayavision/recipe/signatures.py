"""Content signatures of the files a stage reads, and the run folder's cache that spares re-hashing unchanged files.

A signature covers every file's relative path and size and a SHA-256 of its bytes. Input files outside the run
folder larger than ``HASHED_BYTES`` (checkpoints) count by their modification time instead of their bytes; the
upstream outputs a stage names inside the run folder (``{annotate.filter}``) always count by their bytes, so a
run folder copied elsewhere (new mtimes, new absolute paths) has the same signatures and reuses its stages.

Hashing a big image folder on every plan is slow, so each file's digest is cached in ``.signatures.json`` in the
run folder, keyed by its absolute path, size and ``st_mtime_ns``: an unchanged file is not read again. Only the
cache keys hold paths and mtimes; the signatures (and so the fingerprints) never do.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ayavision.utils.fs import atomic_write_text

# Files up to this size count by their bytes; larger ones outside the run folder by size and modification time.
HASHED_BYTES = 8 << 20
CACHE = ".signatures.json"


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks: the one place a signature reads file contents."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SignatureCache:
    """Absolute path -> (size, mtime_ns, digest), loaded from and saved to one JSON file (None: in memory only)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: dict[str, list[Any]] = {}
        self.changed = False
        if path is not None and path.is_file():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # a damaged cache only costs re-hashing
                loaded = {}
            self.entries = loaded if isinstance(loaded, dict) else {}

    @classmethod
    def of_run(cls, run: Path) -> SignatureCache:
        return cls(run / CACHE)

    def digest(self, file: Path) -> str:
        stat = file.stat()
        key = str(file.resolve())
        entry = self.entries.get(key)
        if isinstance(entry, list) and len(entry) == 3 and entry[:2] == [stat.st_size, stat.st_mtime_ns]:
            return str(entry[2])
        value = file_digest(file)
        self.entries[key] = [stat.st_size, stat.st_mtime_ns, value]  # replaces the entry of the file's old content
        self.changed = True
        return value

    def save(self) -> None:
        """Write the cache if it learnt something (temp file + rename: a killed run never leaves half a cache)."""
        if self.path is None or not self.changed or not self.path.parent.is_dir():
            return
        atomic_write_text(self.path, json.dumps(self.entries, sort_keys=True))
        self.changed = False


def content_signature(path: Path, cache: SignatureCache | None = None, whole: bool = False) -> str:
    """A deterministic signature of a file's or folder's content: every file's relative path and size, with the
    SHA-256 of its bytes (of files up to ``HASHED_BYTES`` unless ``whole``; the modification time of larger ones)."""
    cache = cache if cache is not None else SignatureCache()
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        stat = file.stat()
        digest.update(f"{file.relative_to(path) if file != path else ''}\0{stat.st_size}\0".encode())
        if whole or stat.st_size <= HASHED_BYTES:
            digest.update(bytes.fromhex(cache.digest(file)))
        else:
            digest.update(str(stat.st_mtime_ns).encode())
    return digest.hexdigest()[:16]
