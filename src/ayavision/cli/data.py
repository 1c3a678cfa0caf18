"""CLI commands about the conversation data format: validate, import, to-parquet."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ayavision.cli.common import console, user_errors
from ayavision.data import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_ROWS_PER_SHARD,
    ImportResult,
    dataset_root,
    import_cauldron,
    import_llava,
    output_format,
    read_records,
    validate_dataset,
    write_dataset,
    write_parquet_shards,
)
from ayavision.errors import InputError
from ayavision.utils.fs import OutputExistsError

data_app = typer.Typer(no_args_is_help=True, help="The conversation data format: validate, import, convert.")
import_app = typer.Typer(no_args_is_help=True, help="Convert another dataset format into conversation records.")
data_app.add_typer(import_app, name="import")


class OutputFormat(StrEnum):
    jsonl = "jsonl"
    parquet = "parquet"


Out = Annotated[Path, typer.Option("--out", help="output: a .jsonl file, or a folder of Parquet shards")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="replace an existing output")]
RowsPerShard = Annotated[int, typer.Option("--rows-per-shard", min=1, help="records per Parquet shard")]
Language = Annotated[str, typer.Option("--language", help="NLLB or ISO 639-1 code of the texts")]
Task = Annotated[str, typer.Option("--task", help="task of every record")]
Source = Annotated[str | None, typer.Option("--source", help="source name (default: the input's name)")]
Bucket = Annotated[str, typer.Option("--bucket", help="mixture bucket of every record")]
Format = Annotated[
    OutputFormat | None, typer.Option("--format", help="jsonl or parquet (default: jsonl when --out ends in .jsonl)")
]


@data_app.command("validate")
def validate(
    path: Annotated[Path, typer.Argument(help="a .jsonl or .parquet file, or a folder of shards")],
    root: Annotated[Path | None, typer.Option("--root", help="folder image paths are relative to")] = None,
    no_images: Annotated[bool, typer.Option("--no-images", help="skip reading and decoding images")] = False,
    max_pixels: Annotated[
        int, typer.Option("--max-pixels", min=1, help="largest image (in pixels) accepted")
    ] = DEFAULT_MAX_PIXELS,
) -> None:
    """Check every record and image; print each problem with its file, line and record id. Exit 1 if any."""
    with user_errors():
        report = validate_dataset(path, root=root, check_images=not no_images, max_pixels=max_pixels)
    for problem in report.problems:
        console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    colour = "green" if report.ok else "red"
    console.print(f"[{colour}]{escape(report.summary())}[/]", highlight=False, soft_wrap=True)
    raise typer.Exit(0 if report.ok else 1)


def _report_import(result: ImportResult, out: Path) -> None:
    for skipped in result.skipped:
        console.print(f"skipped {skipped}", markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"[green]wrote[/] {len(result.records)} record(s) to {escape(str(out))}; skipped {result.skipped_count}",
        highlight=False,
        soft_wrap=True,
    )


def _write(result: ImportResult, out: Path, fmt: OutputFormat | None, overwrite: bool, rows_per_shard: int) -> None:
    if not result.records:
        raise InputError(f"no records imported ({result.skipped_count} input(s) skipped); nothing written")
    write_dataset(
        result.records,
        out,
        result.image_root,
        fmt=fmt.value if fmt else None,
        overwrite=overwrite,
        rows_per_shard=rows_per_shard,
    )


@import_app.command("llava")
def import_llava_cmd(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="a LLaVA-style JSON list (or JSONL) of entries")],
    out: Out,
    image_root: Annotated[
        Path | None, typer.Option("--image-root", help="folder the 'image' paths are relative to (default: INPUT's)")
    ] = None,
    language: Language = "eng_Latn",
    task: Task = "vqa",
    source: Source = None,
    bucket: Bucket = "original",
    fmt: Format = None,
    rows_per_shard: RowsPerShard = DEFAULT_ROWS_PER_SHARD,
    overwrite: Overwrite = False,
) -> None:
    """Import LLaVA-style conversations. A JSONL --out must sit in the image root or a folder above it."""
    with user_errors():
        if out.exists() and not overwrite:
            raise OutputExistsError(f"{out} exists; choose another output or pass --overwrite")
        result = import_llava(input_path, image_root, language=language, task=task, source=source, bucket=bucket)
        _write(result, out, fmt, overwrite, rows_per_shard)
    _report_import(result, out)


@import_app.command("cauldron")
def import_cauldron_cmd(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT", help="a the-Cauldron-style .jsonl/.parquet file or folder of shards")
    ],
    out: Out,
    image_root: Annotated[
        Path | None, typer.Option("--image-root", help="folder image paths in INPUT are relative to")
    ] = None,
    language: Language = "eng_Latn",
    task: Task = "vqa",
    source: Source = None,
    bucket: Bucket = "original",
    fmt: Format = None,
    rows_per_shard: RowsPerShard = DEFAULT_ROWS_PER_SHARD,
    overwrite: Overwrite = False,
) -> None:
    """Import the-Cauldron-style records; JSONL output writes the images beside it under images/."""
    with user_errors():
        # Checked before importing: a JSONL import writes image files that a refused output would orphan.
        if out.exists() and not overwrite:
            raise OutputExistsError(f"{out} exists; choose another output or pass --overwrite")
        result = import_cauldron(
            input_path,
            image_out=out.parent if output_format(out, fmt.value if fmt else None) == "jsonl" else None,
            image_root=image_root,
            language=language,
            task=task,
            source=source,
            bucket=bucket,
        )
        _write(result, out, fmt, overwrite, rows_per_shard)
    _report_import(result, out)


@data_app.command("to-parquet")
def to_parquet(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT", help="a .jsonl or .parquet file, or a folder of shards")
    ],
    out: Annotated[Path, typer.Option("--out", help="folder to write the Parquet shards to")],
    root: Annotated[Path | None, typer.Option("--root", help="folder image paths are relative to")] = None,
    rows_per_shard: RowsPerShard = DEFAULT_ROWS_PER_SHARD,
    overwrite: Overwrite = False,
) -> None:
    """Convert records to Parquet shards with the image bytes embedded (run validate first)."""
    with user_errors():
        shards = write_parquet_shards(
            read_records(input_path),
            out,
            root if root is not None else dataset_root(input_path),
            rows_per_shard=rows_per_shard,
            overwrite=overwrite,
        )
    console.print(f"[green]wrote[/] {len(shards)} shard(s) to {escape(str(out))}", highlight=False)
