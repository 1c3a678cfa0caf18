"""Turn LLaVA-style and the-Cauldron-style datasets into conversation records, reporting every skipped input."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ayavision.data.errors import DataError, ImageError, RecordValidationError
from ayavision.data.images import DEFAULT_MAX_PIXELS, open_image, read_image_bytes, resolve_image_path
from ayavision.data.io import ParseError, dataset_root, iter_raw_records
from ayavision.data.record import BUCKETS, TASKS, ConversationRecord, validate_record
from ayavision.languages import nllb_code
from ayavision.utils.fs import atomic_file

IMAGE_MARKER = "<image>"
LLAVA_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}


@dataclass(frozen=True)
class Skipped:
    """An input entry that produced no record, and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class ImportResult:
    """The records an importer made, and every input it skipped."""

    records: list[ConversationRecord] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    # The folder the records' image paths are relative to; None when images are embedded or absent.
    image_root: Path | None = None

    @property
    def skipped_count(self) -> int:
        return len(self.skipped)


class _Skip(Exception):
    """Raised inside an importer for an entry that cannot become a record; the message is the reason."""


@dataclass(frozen=True)
class _Defaults:
    language: str
    task: str
    source: str
    bucket: str


def _check_defaults(language: str, task: str, source: str, bucket: str) -> _Defaults:
    # Checked once up front: a bad default would otherwise skip every entry with the same reason.
    if task not in TASKS:
        raise DataError(f"unknown task {task!r}; must be one of: {', '.join(TASKS)}")
    if bucket not in BUCKETS:
        raise DataError(f"unknown bucket {bucket!r}; must be one of: {', '.join(BUCKETS)}")
    if not source.strip():
        raise DataError("the source name must not be empty")
    return _Defaults(nllb_code(language), task, source, bucket)


def _validated(raw: dict[str, Any]) -> ConversationRecord:
    try:
        return validate_record(raw)
    except RecordValidationError as err:
        raise _Skip(f"not a valid record: {err}") from None


# --- LLaVA ---------------------------------------------------------------------------------------


def _llava_entries(json_path: Path) -> Iterator[tuple[str, Any]]:
    if json_path.suffix == ".jsonl":
        for location, raw in iter_raw_records(json_path):
            yield str(location), raw
        return
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{json_path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{json_path}: not valid JSON ({err})") from None
    if not isinstance(data, list):
        raise DataError(f"{json_path}: expected a JSON list of entries, got {type(data).__name__}")
    for index, entry in enumerate(data):
        yield f"{json_path}[{index}]", entry


def _llava_images(entry: dict[str, Any]) -> list[str]:
    image = entry.get("image")
    if image is None:
        return []
    if isinstance(image, str):
        return [image]
    if isinstance(image, list) and all(isinstance(item, str) for item in image):
        return list(image)
    raise _Skip("'image' must be a path or a list of paths")


def _llava_messages(conversations: Any, image_count: int) -> list[dict[str, Any]]:
    """Chat messages with ``<image>`` markers replaced by image parts at the start of their turn."""
    if not isinstance(conversations, list) or not conversations:
        raise _Skip("missing or empty 'conversations'")
    messages: list[dict[str, Any]] = []
    markers = 0
    for index, turn in enumerate(conversations):
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise _Skip(f"conversations[{index}] needs 'from' and a string 'value'")
        role = LLAVA_ROLES.get(turn.get("from"))
        if role is None:
            raise _Skip(f"conversations[{index}]: unknown speaker {turn.get('from')!r}")
        value: str = turn["value"]
        count = value.count(IMAGE_MARKER)
        if count and role != "user":
            raise _Skip(f"conversations[{index}]: an {IMAGE_MARKER} marker in a non-user ({role}) turn")
        text = value.replace(IMAGE_MARKER, "").strip() if count else value
        content: list[dict[str, Any]] = [{"type": "image"} for _ in range(count)]
        if text.strip():
            content.append({"type": "text", "text": text})
        messages.append({"role": role, "content": content})
        markers += count
    if markers == 0 and image_count:
        # LLaVA entries without markers mean "the image comes first"; put it at the start of the first user turn.
        first_user = next((m for m in messages if m["role"] == "user"), None)
        if first_user is None:
            raise _Skip("images but no human turn to place them in")
        first_user["content"][:0] = [{"type": "image"} for _ in range(image_count)]
    elif markers != image_count:
        raise _Skip(f"{markers} {IMAGE_MARKER} marker(s) but {image_count} image(s)")
    return messages


def import_llava(
    json_path: str | Path,
    image_root: str | Path | None = None,
    *,
    language: str = "eng_Latn",
    task: str = "vqa",
    source: str | None = None,
    bucket: str = "original",
    check_images: bool = True,
    text_only_as_text: bool = True,
) -> ImportResult:
    """Import a LLaVA-style JSON list (or JSONL) of ``{"id", "image", "conversations"}`` entries.

    Image paths stay relative to ``image_root`` (default: the JSON file's folder). ``<image>`` markers
    become image parts at the start of their turn, or of the first user turn when there are none.
    With ``check_images``, entries whose image files are missing are skipped (a cheap existence check;
    ``validate`` decodes them). With ``text_only_as_text``, entries without images get task and bucket
    ``text``, the text-only part of the mixture.
    """
    json_path = Path(json_path)
    root = Path(image_root) if image_root is not None else json_path.parent
    defaults = _check_defaults(language, task, source or json_path.stem, bucket)
    result = ImportResult(image_root=root)
    seen: set[str] = set()
    for index, (where, entry) in enumerate(_llava_entries(json_path)):
        try:
            if isinstance(entry, ParseError):
                raise _Skip(entry.message)
            if not isinstance(entry, dict):
                raise _Skip(f"expected an object, got {type(entry).__name__}")
            images = _llava_images(entry)
            messages = _llava_messages(entry.get("conversations"), len(images))
            original_id = entry.get("id")
            has_id = isinstance(original_id, str | int) and str(original_id).strip()
            record_id = f"{defaults.source}/{original_id if has_id else index}"
            if record_id in seen:
                raise _Skip(f"duplicate id {record_id!r}")
            if check_images:
                for path in images:
                    try:
                        if not resolve_image_path(root, path).is_file():
                            raise _Skip(f"image file {path!r} not found under {root}")
                    except ImageError as err:
                        raise _Skip(str(err)) from None
            text_only = text_only_as_text and not images
            record = _validated(
                {
                    "id": record_id,
                    "images": images,
                    "messages": messages,
                    "language": defaults.language,
                    "task": "text" if text_only else defaults.task,
                    "source": defaults.source,
                    "bucket": "text" if text_only else defaults.bucket,
                    "meta": {"importer": "llava", "input": json_path.name, "index": index}
                    | ({"original_id": original_id} if has_id else {}),
                }
            )
        except _Skip as skip:
            result.skipped.append(Skipped(where, str(skip)))
            continue
        seen.add(record.id)
        result.records.append(record)
    return result


# --- the Cauldron --------------------------------------------------------------------------------


def _cauldron_image(item: Any, index: int, input_root: Path, max_pixels: int | None) -> tuple[bytes, str, str | None]:
    """``(bytes, file extension, original name)`` of one image, checked by reading its header."""
    name: str | None = None
    try:
        if isinstance(item, str):
            name, data = item, read_image_bytes(input_root, item)
        elif isinstance(item, dict) and isinstance(item.get("bytes"), bytes):
            name, data = item.get("path"), item["bytes"]
        elif isinstance(item, dict) and isinstance(item.get("path"), str):
            name, data = item["path"], read_image_bytes(input_root, item["path"])
        else:
            raise _Skip(f"images[{index}] is neither a path nor a {{bytes, path}} object")
        image = open_image(data, label=f"images[{index}]", max_pixels=max_pixels, decode=False)
    except ImageError as err:
        raise _Skip(str(err)) from None
    return data, _EXTENSIONS.get(image.format or "", (image.format or "img").lower()), name


def _cauldron_messages(texts: Any, image_count: int) -> list[dict[str, Any]]:
    if not isinstance(texts, list) or not texts:
        raise _Skip("missing or empty 'texts'")
    messages: list[dict[str, Any]] = []
    for index, pair in enumerate(texts):
        if (
            not isinstance(pair, dict)
            or not isinstance(pair.get("user"), str)
            or not isinstance(pair.get("assistant"), str)
        ):
            raise _Skip(f"texts[{index}] needs string 'user' and 'assistant'")
        images = [{"type": "image"} for _ in range(image_count if index == 0 else 0)]
        messages.append({"role": "user", "content": [*images, {"type": "text", "text": pair["user"]}]})
        messages.append({"role": "assistant", "content": [{"type": "text", "text": pair["assistant"]}]})
    return messages


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "images"


def import_cauldron(
    path: str | Path,
    *,
    image_out: str | Path | None = None,
    image_root: str | Path | None = None,
    language: str = "eng_Latn",
    task: str = "vqa",
    source: str | None = None,
    bucket: str = "original",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> ImportResult:
    """Import the-Cauldron-style records (``images`` + ``texts: [{user, assistant, source}]``).

    ``path`` is a JSONL or Parquet file or a folder of shards. Images are embedded bytes or paths
    relative to ``image_root`` (default: the input's folder). With ``image_out``, images are written to
    ``image_out/images/<source>/`` and records name them relative to ``image_out`` (for JSONL output);
    without it, records keep the bytes (for Parquet output). Each image's header is read, so an
    undecodable image skips its entry.
    """
    path = Path(path)
    input_root = Path(image_root) if image_root is not None else dataset_root(path)
    defaults = _check_defaults(language, task, source or path.stem, bucket)
    out_root = Path(image_out) if image_out is not None else None
    result = ImportResult(image_root=out_root)
    for index, (location, entry) in enumerate(iter_raw_records(path)):
        try:
            if isinstance(entry, ParseError):
                raise _Skip(entry.message)
            raw_images = entry.get("images") or []
            if not isinstance(raw_images, list):
                raise _Skip("'images' must be a list")
            images = [_cauldron_image(item, k, input_root, max_pixels) for k, item in enumerate(raw_images)]
            messages = _cauldron_messages(entry.get("texts"), len(images))
            origins = sorted({p["source"] for p in entry["texts"] if isinstance(p.get("source"), str)})
            record = _validated(
                {
                    "id": f"{defaults.source}/{index:07d}",
                    "images": [{"bytes": data, "path": name} for data, _, name in images],
                    "messages": messages,
                    "language": defaults.language,
                    "task": defaults.task,
                    "source": defaults.source,
                    "bucket": defaults.bucket,
                    "meta": {"importer": "cauldron", "input": str(location)}
                    | ({"cauldron_source": origins} if origins else {}),
                }
            )
        except _Skip as skip:
            result.skipped.append(Skipped(str(location), str(skip)))
            continue
        if out_root is not None:
            # Written only once the record is known good, so a skipped entry leaves no stray files.
            paths = []
            for k, (data, extension, _) in enumerate(images):
                relpath = f"images/{_slug(defaults.source)}/{index:07d}-{k}.{extension}"
                with atomic_file(out_root / relpath, "wb") as handle:
                    handle.write(data)
                paths.append(relpath)
            record = record.model_copy(update={"images": paths})
        result.records.append(record)
    return result
