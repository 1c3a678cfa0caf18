"""Write records as Parquet shards with embedded image bytes, loadable by ``datasets.load_dataset``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from ayavision.data.errors import DataError
from ayavision.data.images import read_image_bytes
from ayavision.data.record import ConversationRecord
from ayavision.errors import ConfigError
from ayavision.utils.fs import atomic_dir

if TYPE_CHECKING:
    import datasets

DEFAULT_ROWS_PER_SHARD = 1000
# Readers stream a row group at a time; with image bytes in every row, small groups keep that cheap.
_ROW_GROUP_ROWS = 100


def record_features() -> datasets.Features:
    """The ``datasets`` schema of a record; the Parquet files carry it, so ``load_dataset`` decodes images."""
    import datasets  # imported here: it takes a second, and most commands never write Parquet

    # meta's keys differ from record to record, which a struct column cannot hold: it is stored as JSON text
    # (as the Json feature where this datasets version has one, so that load_dataset gives back a dict).
    json_feature = datasets.Json() if hasattr(datasets, "Json") else datasets.Value("string")
    part = {"type": datasets.Value("string"), "text": datasets.Value("string")}
    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "images": datasets.List(datasets.Image()),
            "messages": datasets.List({"role": datasets.Value("string"), "content": datasets.List(part)}),
            "language": datasets.Value("string"),
            "task": datasets.Value("string"),
            "source": datasets.Value("string"),
            "bucket": datasets.Value("string"),
            "meta": json_feature,
        }
    )


def _row(record: ConversationRecord, dataset_root: Path | None) -> dict[str, Any]:
    images = []
    for image in record.images:
        if isinstance(image, str):
            if dataset_root is None:
                raise DataError(f"record {record.id!r} names image files but no dataset root was given")
            try:
                images.append({"bytes": read_image_bytes(dataset_root, image), "path": image})
            except DataError as err:
                raise DataError(f"record {record.id!r}: {err}") from None
        else:
            images.append({"bytes": image.bytes, "path": image.path})
    row = record.to_dict()
    row["images"] = images
    # Every part gets both columns; the reader maps text None on an image part back to {"type": "image"}.
    row["messages"] = [
        {"role": m.role, "content": [{"type": p.type, "text": p.text} for p in m.content]} for m in record.messages
    ]
    row["meta"] = json.dumps(record.meta, ensure_ascii=False)
    return row


def write_parquet_shards(
    records: Iterable[ConversationRecord],
    out_dir: str | Path,
    dataset_root: str | Path | None = None,
    *,
    rows_per_shard: int = DEFAULT_ROWS_PER_SHARD,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``data-00000-of-0000N.parquet`` shards into ``out_dir``, embedding every image's bytes.

    Image paths are read under ``dataset_root``. The folder appears only once every shard is complete;
    an empty input still writes one empty shard, so the folder keeps its schema.
    """
    if rows_per_shard < 1:
        raise ConfigError(f"rows_per_shard must be at least 1, got {rows_per_shard}")
    root = Path(dataset_root) if dataset_root is not None else None
    features = record_features()
    schema = features.arrow_schema
    out_dir = Path(out_dir)
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        # The total goes into every name, so shards get their final names only once all are written.
        written: list[Path] = []
        writer: pq.ParquetWriter | None = None
        buffer: list[dict[str, Any]] = []
        rows_in_shard = 0

        def flush() -> None:
            if writer is not None and buffer:
                writer.write_table(pa.Table.from_pylist(buffer, schema=schema))
            buffer.clear()

        try:
            for record in records:
                if writer is None or rows_in_shard == rows_per_shard:
                    flush()
                    if writer is not None:
                        writer.close()
                    written.append(tmp / f"shard-{len(written):05d}.parquet")
                    writer = pq.ParquetWriter(written[-1], schema)
                    rows_in_shard = 0
                buffer.append(features.encode_example(_row(record, root)))
                rows_in_shard += 1
                if len(buffer) == _ROW_GROUP_ROWS:
                    flush()
            flush()
            if writer is None:
                written.append(tmp / "shard-00000.parquet")
                pq.write_table(schema.empty_table(), written[-1])
        finally:
            if writer is not None:
                writer.close()
        total = len(written)
        for index, shard in enumerate(written):
            os.replace(shard, tmp / f"data-{index:05d}-of-{total:05d}.parquet")
    return [out_dir / f"data-{index:05d}-of-{total:05d}.parquet" for index in range(total)]
