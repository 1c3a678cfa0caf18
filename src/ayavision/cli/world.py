"""CLI commands `ayavision world ...`: the shapes world's data, sample images, tiny pretrained parts, measures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ayavision.cli.common import console, user_errors

world_app = typer.Typer(no_args_is_help=True, help="The shapes world: data, tiny pretrained parts, measurements.")

Out = typer.Argument(..., help="output folder (reused as is when it already holds the same config)")
Seed = typer.Option(None, "--seed", help="random seed [default: 0]")
Languages = typer.Option(None, "--languages", help="'all', or NLLB/ISO codes separated by commas")
ConfigFile = typer.Option(None, "--config", help="a YAML file of settings; flags given override it")
Threads = typer.Option(None, "--threads", help="torch CPU threads [default: torch's]")
Quiet = typer.Option(False, "--quiet", help="no progress bar")


def _settings(config: Path | None, model: type, **flags: Any):
    """A config from a YAML file (if any) with the flags that were given on top; unknown keys refused."""
    from ayavision.world.config import load_config

    base = load_config(config, model).model_dump() if config is not None else {}
    given = {key: value for key, value in flags.items() if value is not None}
    return model.model_validate({**base, **given})


def _split(value: str | None) -> list[str] | str | None:
    if value is None or value == "all":
        return value
    return [part.strip() for part in value.split(",") if part.strip()]


def _show(title: str, summary: dict[str, Any], keys: list[str]) -> None:
    table = Table(title=title, show_header=False)
    for key in keys:
        if key in summary:
            value = summary[key]
            table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    console.print(table)


@world_app.command("data")
def data(
    out: Path = Out,
    n: int = typer.Option(None, "--n", help="records [default: 200]"),
    seed: int | None = Seed,
    tasks: str | None = typer.Option(None, "--tasks", help="caption,describe,vqa,counting,difference,ocr or 'all'"),
    languages: str | None = Languages,
    config: Path | None = ConfigFile,
    quiet: bool = Quiet,
) -> None:
    """Render scenes and write a dataset in the conversation format (short English "original" answers by default)."""
    from ayavision.world import DatasetConfig, make_world_dataset

    with user_errors():
        settings = _settings(
            config,
            DatasetConfig,
            n=n or (None if config else 200),
            seed=seed,
            tasks=_split(tasks),
            languages=_split(languages),
        )
        summary = make_world_dataset(out, settings, progress=not quiet)
    console.print(f"{summary['records']} records in {out / summary['data']}: {json.dumps(summary['counts']['task'])}")


@world_app.command("text-task")
def text_task(
    out: Path = Out,
    n: int = typer.Option(None, "--n", help="questions [default: 460]"),
    seed: int | None = Seed,
    languages: str | None = Languages,
    config: Path | None = ConfigFile,
) -> None:
    """Write the text-only task (a written scene, one question, a one-word answer) in all languages."""
    from ayavision.world import TextTaskConfig, make_text_task

    with user_errors():
        settings = _settings(
            config, TextTaskConfig, n=n or (None if config else 460), seed=seed, languages=_split(languages)
        )
        summary = make_text_task(out, settings)
    console.print(
        f"{summary['records']} questions in {out / summary['data']} (chance accuracy {summary['chance']:.3f})"
    )


@world_app.command("samples")
def samples(
    out: Path = Out,
    n: int = typer.Option(4, "--n", help="images"),
    seed: int = typer.Option(0, "--seed"),
    language: str = typer.Option("eng_Latn", "--language", help="the language of the descriptions printed"),
) -> None:
    """Save sample scenes as PNG, each with its description."""
    from ayavision.world.samples import write_samples

    with user_errors():
        written = write_samples(out, n, seed, language)
    for path, text in written:
        console.print(f"[bold]{path}[/]: {text}")


@world_app.command("tokenizer")
def tokenizer(
    out: Path = Out,
    vocab_size: int | None = typer.Option(None, "--vocab-size", help="[default: 4096]"),
    seed: int | None = Seed,
    config: Path | None = ConfigFile,
) -> None:
    """Train the world tokenizer (byte-level BPE on the 23-language corpus, Cohere chat template)."""
    from ayavision.world.pretrain import TokenizerConfig, pretrain_tokenizer

    with user_errors():
        summary = pretrain_tokenizer(out, _settings(config, TokenizerConfig, vocab_size=vocab_size, seed=seed))
    _show("world tokenizer", summary, ["vocab", "corpus_lines", "seconds"])


@world_app.command("encoder")
def encoder(
    out: Path = Out,
    tokenizer_dir: Path = typer.Option(..., "--tokenizer", help="the world tokenizer folder"),
    steps: int | None = typer.Option(None, "--steps", help="[default: 300]"),
    batch_size: int | None = typer.Option(None, "--batch-size", help="[default: 96]"),
    seed: int | None = Seed,
    threads: int | None = Threads,
    config: Path | None = ConfigFile,
    quiet: bool = Quiet,
) -> None:
    """Pretrain the tiny SigLIP with the sigmoid loss; print retrieval accuracy against chance."""
    from ayavision.world.pretrain import EncoderConfig, pretrain_encoder

    with user_errors():
        settings = _settings(config, EncoderConfig, steps=steps, batch_size=batch_size, seed=seed, threads=threads)
        summary = pretrain_encoder(out, tokenizer_dir, settings, progress=not quiet)
    _show(
        "SigLIP encoder: held-out image-caption retrieval",
        summary,
        [
            "image_to_text_top1",
            "text_to_image_top1",
            "chance_top1",
            "image_to_text_top5",
            "chance_top5",
            "eval_pairs",
            "seconds",
            "cpu_seconds",
        ],
    )


@world_app.command("text-llm")
def text_llm(
    out: Path = Out,
    tokenizer_dir: Path = typer.Option(..., "--tokenizer", help="the world tokenizer folder"),
    steps: int | None = typer.Option(None, "--steps", help="[default: see LLMConfig]"),
    batch_size: int | None = typer.Option(None, "--batch-size"),
    seed: int | None = Seed,
    threads: int | None = Threads,
    config: Path | None = ConfigFile,
    quiet: bool = Quiet,
) -> None:
    """Pretrain the tiny text LLM on the text task in all languages; print its accuracy against chance."""
    from ayavision.world.pretrain import LLMConfig, pretrain_text_llm

    with user_errors():
        settings = _settings(config, LLMConfig, steps=steps, batch_size=batch_size, seed=seed, threads=threads)
        summary = pretrain_text_llm(out, tokenizer_dir, settings, progress=not quiet)
    _show(
        "text LLM: held-out text-task accuracy",
        summary,
        ["accuracy", "chance", "eval_questions", "seconds", "cpu_seconds"],
    )


@world_app.command("parts")
def parts(
    out: Path = Out,
    threads: int | None = Threads,
    quiet: bool = Quiet,
) -> None:
    """All three tiny parts into OUT/tokenizer, OUT/encoder and OUT/text-llm, with the shipped parts' settings."""
    from ayavision.world.pretrain import (
        EncoderConfig,
        LLMConfig,
        pretrain_encoder,
        pretrain_text_llm,
        pretrain_tokenizer,
    )

    with user_errors():
        pretrain_tokenizer(out / "tokenizer")
        extra = {"threads": threads} if threads is not None else {}
        enc = pretrain_encoder(out / "encoder", out / "tokenizer", EncoderConfig(**extra), progress=not quiet)
        llm = pretrain_text_llm(out / "text-llm", out / "tokenizer", LLMConfig(**extra), progress=not quiet)
    console.print(
        f"encoder: image->text top-1 {enc['image_to_text_top1']:.3f} (chance {enc['chance_top1']:.3f}); "
        f"text LLM: accuracy {llm['accuracy']:.3f} (chance {llm['chance']:.3f})"
    )


measure_app = typer.Typer(no_args_is_help=True, help="Measure annotation outputs against the world's ground truth.")
world_app.add_typer(measure_app, name="measure")


@measure_app.command("filter")
def measure_filter(
    recaption: Path = typer.Option(..., "--recaption", help="the recaption step's output dataset"),
    filtered: Path = typer.Option(..., "--filter", help="the filter step's output dataset"),
) -> None:
    """Precision and recall of the filter at catching the world teacher's injected hallucinations."""
    from ayavision.world import filter_quality

    with user_errors():
        console.print_json(json.dumps(filter_quality(recaption, filtered)))


@measure_app.command("translation")
def measure_translation(rephrased: Path = typer.Argument(..., help="the rephrase step's output dataset")) -> None:
    """chrF of the machine translations and of their rephrasings against the natural sentences."""
    from ayavision.world import translation_quality

    with user_errors():
        console.print_json(json.dumps(translation_quality(rephrased)))


@world_app.command("check")
def check() -> None:
    """Load all 23 lexicons and render every sentence form in every language (one error line, exit 2, on a gap)."""
    from ayavision.world.samples import check_lexicons

    with user_errors():
        rendered = check_lexicons()
    console.print(
        f"{len(rendered)} languages x {len(next(iter(rendered.values())))} sentence forms render and read back"
    )
