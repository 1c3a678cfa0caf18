"""CLI commands about models: build-model, info, generate."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from ayavision.cli.common import console, err_console, user_errors
from ayavision.errors import ConfigError


def build_model(
    out: Path = typer.Option(..., "--out", help="folder to write the model to"),
    preset: str | None = typer.Option(None, "--preset", help="tiny | aya-vision-8b | aya-vision-32b"),
    config: Path | None = typer.Option(None, "--config", help="a model config YAML (see configs/)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing output folder"),
    random_init: bool = typer.Option(False, "--random-init", help="allow a large preset with random weights"),
) -> None:
    """Compose an AyaVision model from an encoder and an LLM and save it as a plain transformers folder."""
    from ayavision.model.compose import compose
    from ayavision.model.presets import get_preset
    from ayavision.model.spec import load_spec
    from ayavision.model.store import save_composed

    with user_errors():
        if (preset is None) == (config is None):
            raise ConfigError("give exactly one of --preset NAME or --config FILE.yaml")
        spec = get_preset(preset) if preset is not None else load_spec(config)  # type: ignore[arg-type]
        if preset not in (None, "tiny") and not random_init:
            raise ConfigError(
                f"preset {preset!r} describes the released shapes only; build it from weights with a config "
                f"(configs/{preset}.yaml: fill in the checkpoint folders), or pass --random-init to allocate it "
                "with random weights"
            )
        with console.status(f"composing {spec.name}"):
            composed = compose(spec)
            save_composed(composed, out, spec, overwrite=overwrite)
    report = composed.report
    console.print(f"[green]wrote[/] {out}")
    for component, count in sorted(report.loaded.items()):
        console.print(f"  loaded {count} tensors into {component}")
    for component, count in sorted(report.ignored.items()):
        console.print(f"  ignored {count} checkpoint tensors of {component} (not used by AyaVision)")
    for name in report.unexpected:
        console.print(f"  [yellow]unused checkpoint tensor[/] {name}")
    for name in report.missing:
        console.print(f"  [yellow]not found in checkpoint (random init)[/] {name}")
    for note in report.notes:
        console.print(f"  note: {note}")
    if report.added_tokens:
        console.print(f"  added {len(report.added_tokens)} tokens: {' '.join(report.added_tokens)}", markup=False)


def info(
    target: str = typer.Argument(..., help="a model folder or a preset name"),
    as_json: bool = typer.Option(False, "--json", help="print machine-readable JSON"),
) -> None:
    """Parameters per component, image tokens per tile and per image, and the on-disk weight layout."""
    from ayavision.model.info import describe

    with user_errors():
        details = describe(target)
    if as_json:
        console.print_json(json.dumps(asdict(details)))
        return
    table = Table(title=f"{details.name}: parameters", show_header=True)
    table.add_column("component")
    table.add_column("parameters", justify="right")
    for component, count in details.parameters.items():
        table.add_row(component, f"{count:,}")
    console.print(table)
    console.print(f"output head: {'tied to the input embeddings' if details.tied_head else 'untied (its own weights)'}")
    console.print(
        f"tiles: {details.tile_size}px, patch {details.patch_size}, pixel shuffle x{details.downsample_factor} -> "
        f"{details.tokens_per_tile} tokens per tile; up to {details.max_tiles} tiles + thumbnail -> "
        f"max {details.max_image_tokens} image tokens per image"
    )
    if details.layout:
        console.print(f"on-disk layout: {details.layout_style}, {details.shards} shard(s)")
        layout = Table(show_header=True)
        for column in ("prefix", "tensors", "MB", "dtypes"):
            layout.add_column(column)
        for group in details.layout:
            layout.add_row(group.prefix, str(group.tensors), f"{group.bytes / 1e6:,.1f}", ",".join(group.dtypes))
        console.print(layout)


def generate(
    model: Path = typer.Option(..., "--model", help="an AyaVision model folder (ours or a released one)"),
    image: list[Path] = typer.Option([], "--image", help="an image file; repeat for several"),
    prompt: str = typer.Option(..., "--prompt"),
    max_new_tokens: int = typer.Option(64, "--max-new-tokens", min=1),
    device: str = typer.Option("cpu", "--device"),
    as_json: bool = typer.Option(False, "--json", help="print the text and token ids as JSON"),
) -> None:
    """Greedy answer to a prompt about the given images."""
    from ayavision.model.generate import generate_from_folder

    with user_errors():
        result = generate_from_folder(model, image, prompt, max_new_tokens=max_new_tokens, device=device)
    if as_json:
        print(json.dumps(asdict(result), ensure_ascii=False))
    else:
        console.print(result.text, markup=False, highlight=False)
        err_console.print(
            f"[dim]{len(result.token_ids)} new tokens from a {result.prompt_tokens}-token prompt "
            f"({result.image_tokens} image tokens)[/]"
        )


def register_model_commands(app: typer.Typer) -> None:
    app.command("build-model")(build_model)
    app.command("info")(info)
    app.command("generate")(generate)
