"""CLI command `merge`: a text LLM into an AyaVision model's language model, for one alpha or a sweep."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from ayavision.cli.common import console, err_console, user_errors


def merge(
    vlm: Path = typer.Option(..., "--vlm", help="the AyaVision model folder (after multimodal training)"),
    text: Path = typer.Option(..., "--text", help="the text-only LLM folder its language model started from"),
    out: Path = typer.Option(..., "--out", help="the merged model folder; with --alphas, one sub-folder per alpha"),
    alpha: float | None = typer.Option(None, "--alpha", help="the VLM's share, 0..1 [default: 0.4, the paper's]"),
    alphas: str | None = typer.Option(None, "--alphas", help="a sweep, e.g. 0,0.2,0.4,0.6,0.8,1 (inputs read once)"),
    method: str = typer.Option("linear", "--method", help="linear (the paper's) | slerp"),
    dtype: str | None = typer.Option(None, "--dtype", help="float32 | bfloat16 | float16 [default: the VLM's]"),
    max_shard_size: str = typer.Option("5GB", "--max-shard-size", help="largest output shard, e.g. 5GB, 2GiB"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing output folder"),
    hash_inputs: bool = typer.Option(True, "--hash/--no-hash", help="record the inputs' SHA-256 in merge.json"),
) -> None:
    """Interpolate the language model's weights (W = alpha * VLM + (1 - alpha) * text); copy the rest from the VLM."""
    from ayavision.merge import DEFAULT_ALPHA, MergeError, merge_checkpoints, merge_sweep

    with user_errors():
        if alpha is not None and alphas is not None:
            raise MergeError("give --alpha or --alphas, not both")
        with _progress_bar() as progress:
            bar = progress.add_task("merging", total=None)

            def show(done: int, total: int) -> None:
                progress.update(bar, completed=done, total=total)

            options = {
                "method": method,
                "dtype": dtype,
                "overwrite": overwrite,
                "max_shard_size": max_shard_size,
                "hash_inputs": hash_inputs,
                "progress": show,
            }
            if alphas is not None:
                outcome = merge_sweep(vlm, text, out, _parse_alphas(alphas), **options)
            else:
                outcome = merge_checkpoints(vlm, text, out, DEFAULT_ALPHA if alpha is None else alpha, **options)
    plan, stream = outcome.plan, outcome.stream
    console.print(
        f"merged {len(plan.merged)} language-model tensors ({method}), copied {len(plan.copied)} from the VLM "
        f"[dim]({plan.layout.description})[/]"
    )
    for name, (shared, rows) in plan.vlm_only_rows.items():
        console.print(f"  {name}: rows {shared}..{rows - 1} taken from the VLM (the text LLM has {shared})")
    for name in plan.ignored_text:
        console.print(f"  text LLM tensor {name} not used: its head is tied to the embeddings")
    console.print(
        f"read {stream.bytes_read / 1e9:.2f} GB, wrote {stream.bytes_written / 1e9:.2f} GB in {outcome.seconds:.1f} s"
    )
    for value, folder in outcome.folders.items():
        console.print(f"[green]wrote[/] {folder} [dim](alpha {value})[/]")


def _parse_alphas(text: str) -> list[float]:
    from ayavision.merge import MergeError

    values = []
    for part in text.split(","):
        try:
            values.append(float(part))
        except ValueError:
            raise MergeError(f"--alphas {text}: {part.strip()!r} is not a number") from None
    return values


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )


def register_merge_commands(app: typer.Typer) -> None:
    app.command("merge")(merge)
