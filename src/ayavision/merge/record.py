"""What goes beside the merged weights: the VLM's other files, and merge.json with the inputs' content hashes."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

from ayavision.model.checkpoint import INDEX_FILE, checkpoint_files

MERGE_RECORD = "merge.json"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".safetensors.index.json", ".bin.index.json")
_HASH_BLOCK = 8 * 2**20


class HashCancelled(Exception):
    """The merge failed; hashing stopped early."""


def content_hashes(folder: Path, cancel: threading.Event | None = None) -> dict:
    """SHA-256 of the config and every weight file (what `sha256sum` prints), and one digest over them all."""
    files = [folder / "config.json", *checkpoint_files(folder)]
    if (folder / INDEX_FILE).exists():
        files.append(folder / INDEX_FILE)
    digests = {}
    buffer = bytearray(_HASH_BLOCK)
    view = memoryview(buffer)
    for path in files:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while size := handle.readinto(buffer):
                if cancel is not None and cancel.is_set():
                    raise HashCancelled
                digest.update(view[:size])  # large updates release the GIL: this runs beside the merge
        digests[path.name] = digest.hexdigest()
    combined = hashlib.sha256("".join(f"{d}  {n}\n" for n, d in sorted(digests.items())).encode()).hexdigest()
    return {"sha256": combined, "files": digests}


def copy_support_files(vlm_folder: Path, out: Path) -> list[str]:
    """Config, tokenizer, processor, chat template and anything else that is not weights, unchanged."""
    copied = []
    for path in sorted(vlm_folder.iterdir()):
        if path.name.startswith(".") or path.name == MERGE_RECORD or path.name.endswith(_WEIGHT_SUFFIXES):
            continue
        if path.is_dir():
            shutil.copytree(path, out / path.name)
        else:
            shutil.copy2(path, out / path.name)
        copied.append(path.name)
    return copied


def write_record(out: Path, record: dict) -> None:
    stamped = {**record, "created": datetime.now(UTC).isoformat(timespec="seconds")}
    (out / MERGE_RECORD).write_text(json.dumps(stamped, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
