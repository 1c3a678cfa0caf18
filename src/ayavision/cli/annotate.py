"""CLI of the annotation pipeline: `ayavision annotate run PIPELINE.yaml` and one command per step."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ayavision.cli.common import console, user_errors
from ayavision.cli.options import ExecutorArgs, backend_spec, grouped
from ayavision.errors import ConfigError

annotate_app = typer.Typer(no_args_is_help=True, help="Recaption, filter, translate, rephrase and measure datasets.")

Input = Annotated[Path, typer.Option("--input", help="a .jsonl/.parquet dataset or a folder of shards")]
Out = Annotated[Path, typer.Option("--out", help="the step's folder: data, ledger.jsonl, summary.json, cache/")]
BackendKind = Annotated[str, typer.Option("--backend", help="backend name in the registry: openai, transformers, ...")]
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="openai: endpoint root, e.g. http://host:8000/v1")]
Model = Annotated[str | None, typer.Option("--model", help="model name (openai) or local folder (transformers)")]
ApiKeyEnv = Annotated[str | None, typer.Option("--api-key-env", help="variable holding the API key (never logged)")]
Concurrency = Annotated[int | None, typer.Option("--concurrency", min=1, help="openai: requests in flight at most")]
Rpm = Annotated[float | None, typer.Option("--rpm", help="openai: requests per minute at most")]
Timeout = Annotated[float | None, typer.Option("--timeout", help="openai: seconds per HTTP request")]
Device = Annotated[str | None, typer.Option("--device", help="transformers: cpu, cuda, cuda:1 ...")]
BatchSize = Annotated[int | None, typer.Option("--batch-size", min=1, help="transformers: requests per batch")]
BackendOption = Annotated[
    list[str] | None, typer.Option("--backend-option", help="KEY=VALUE passed to the backend (repeatable)")
]
Plugin = Annotated[list[str] | None, typer.Option("--plugin", help="module to import first (registers backends)")]
MaxTokens = Annotated[int | None, typer.Option("--max-tokens", min=1, help="answer budget per request")]
Temperature = Annotated[float | None, typer.Option("--temperature", min=0)]
MaxAttempts = Annotated[int | None, typer.Option("--max-attempts", min=1, help="generations before giving up")]
TemplateDir = Annotated[Path | None, typer.Option("--template-dir", help="folder of templates overriding built-ins")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="start afresh (cached answers are kept)")]
RetryFailed = Annotated[bool, typer.Option("--retry-failed", help="also redo failures that are not retryable")]
CacheDir = Annotated[Path | None, typer.Option("--cache", help="request cache folder (default: OUT/cache)")]
NoProgress = Annotated[bool, typer.Option("--no-progress", help="no progress bar")]
Format = Annotated[str, typer.Option("--format", help="auto, jsonl or parquet")]


@dataclass
class BackendArgs:
    """The backend a step command calls; each option goes to the backend's own config when given."""

    backend: BackendKind = "openai"
    base_url: BaseUrl = None
    model: Model = None
    api_key_env: ApiKeyEnv = None
    concurrency: Concurrency = None
    rpm: Rpm = None
    timeout: Timeout = None
    device: Device = None
    batch_size: BatchSize = None
    backend_option: BackendOption = None
    plugin: Plugin = None

    def spec(self):
        """The ``BackendSpec``: the flags under the names the backends' configs give them."""
        given = {
            "base_url": self.base_url, "model": self.model, "api_key_env": self.api_key_env,
            "concurrency": self.concurrency, "requests_per_minute": self.rpm, "timeout": self.timeout,
            "device": self.device, "batch_size": self.batch_size,
        }  # fmt: skip
        return backend_spec(self.backend, given, self.backend_option)


@dataclass
class RunArgs(ExecutorArgs):
    """How a step command runs (none of it changes the output): the executor flags, resuming, cache, progress."""

    overwrite: Overwrite = False
    retry_failed: RetryFailed = False
    cache: CacheDir = None
    no_progress: NoProgress = False
    format: Format = "auto"

    def options(self) -> Any:
        from ayavision.annotate import RunOptions

        return RunOptions(
            overwrite=self.overwrite,
            retry_failed=self.retry_failed,
            cache_dir=self.cache,
            progress=not self.no_progress,
            output_format=self.format,
        )


def _run(config: Any, input: Path, out: Path, backend: BackendArgs, run: RunArgs, needs_backend: bool = True) -> None:
    from ayavision.annotate import run_step

    with user_errors():
        spec = backend.spec() if needs_backend else None
        result = run_step(
            config, input, out, spec, executor=run.executor_config(), options=run.options(), plugins=backend.plugin
        )
    _report(result)


def _report(result: Any) -> None:
    s = result.counts
    verb = "already finished" if result.skipped else "done"
    console.print(
        f"[bold]{s.step}[/] {verb}: {s.total} record(s): [green]kept {s.kept}[/], "
        f"[yellow]dropped {s.dropped}[/], [red]failed {s.failed}[/]; {s.outputs} output record(s), "
        f"{s.requests} request(s) sent, {s.cached} from cache",
        highlight=False,
    )
    for reason, count in s.reasons.items():
        console.print(f"  {count:>6}  {escape(reason)}", highlight=False)
    console.print(f"  output {escape(str(s.output))}; ledger {escape(str(s.out_dir))}/ledger.jsonl", highlight=False)
    if s.retryable:
        console.print(f"[yellow]{s.retryable} failure(s) are retryable: run the same command again[/]")


def _step_config(cls: type, **fields: Any) -> Any:
    with user_errors():
        return cls(**{key: value for key, value in fields.items() if value is not None})


@annotate_app.command("recaption")
@grouped
def recaption(
    input: Input, out: Out, backend: BackendArgs, run: RunArgs, max_tokens: MaxTokens = None,
    temperature: Temperature = None, max_attempts: MaxAttempts = None, template_dir: TemplateDir = None,
) -> None:  # fmt: skip
    """Rewrite each short answer into a rich one with a teacher VLM (answers in <answer> tags)."""
    from ayavision.annotate import RecaptionConfig

    config = _step_config(
        RecaptionConfig, max_tokens=max_tokens, temperature=temperature, max_attempts=max_attempts,
        template_dir=template_dir,
    )  # fmt: skip
    _run(config, input, out, backend, run)


@annotate_app.command("filter")
@grouped
def filter_(
    input: Input, out: Out, backend: BackendArgs, run: RunArgs,
    no_judge: Annotated[bool, typer.Option("--no-judge", help="rules only: no LLM judge, no backend")] = False,
    max_attempts: MaxAttempts = None, template_dir: TemplateDir = None,
) -> None:  # fmt: skip
    """Drop refusals, leaked prompt phrases, empty and cut answers; then ask an LLM judge YES/NO per answer."""
    from ayavision.annotate import FilterConfig

    config = _step_config(FilterConfig, judge=not no_judge, max_attempts=max_attempts, template_dir=template_dir)
    _run(config, input, out, backend, run, needs_backend=not no_judge)


@annotate_app.command("translate")
@grouped
def translate(
    input: Input, out: Out, backend: BackendArgs, run: RunArgs,
    languages: Annotated[str, typer.Option("--languages", help="comma-separated NLLB/ISO codes, or all")] = "all",
    per_record: Annotated[int | None, typer.Option("--languages-per-record", min=1)] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="seed of the per-record language draw")] = None,
    max_tokens: MaxTokens = None, template_dir: TemplateDir = None,
) -> None:  # fmt: skip
    """Translate each record into languages drawn uniformly (seeded) from --languages."""
    from ayavision.annotate import TranslateConfig

    chosen: Any = "all" if languages.strip() == "all" else [c.strip() for c in languages.split(",") if c.strip()]
    config = _step_config(
        TranslateConfig, languages=chosen, languages_per_record=per_record, seed=seed, max_tokens=max_tokens,
        template_dir=template_dir,
    )  # fmt: skip
    _run(config, input, out, backend, run)


@annotate_app.command("rephrase")
@grouped
def rephrase(
    input: Input, out: Out, backend: BackendArgs, run: RunArgs, max_tokens: MaxTokens = None,
    temperature: Temperature = None, max_attempts: MaxAttempts = None, template_dir: TemplateDir = None,
) -> None:  # fmt: skip
    """Post-edit each machine translation with an LLM, given its source (answers in <translation> tags)."""
    from ayavision.annotate import RephraseConfig

    config = _step_config(
        RephraseConfig, max_tokens=max_tokens, temperature=temperature, max_attempts=max_attempts,
        template_dir=template_dir,
    )  # fmt: skip
    _run(config, input, out, backend, run)


@annotate_app.command("metrics")
def metrics(
    inputs: Annotated[
        list[str], typer.Option("--input", help="dataset, or NAME=DATASET; repeat to compare steps in order")
    ],
    out: Out,
    tokenizer: Annotated[str | None, typer.Option("--tokenizer", help="HF tokenizer folder that counts tokens")] = None,
    comet_python: Annotated[Path | None, typer.Option("--comet-python", help="python with unbabel-comet")] = None,
    comet_model: Annotated[str | None, typer.Option("--comet-model", help="local COMET checkpoint")] = None,
) -> None:
    """Answer tokens, words, MTLD, chrF (and COMET) per dataset and language: metrics.json and metrics.md."""
    from ayavision.annotate import CometConfig, MetricsConfig, run_metrics
    from ayavision.annotate.metrics.report import to_markdown

    with user_errors():
        datasets: dict[str, Path] = {}
        for item in inputs:
            name, sep, path = item.partition("=")
            target = Path(path) if sep else Path(item)
            label = name if sep else (target.parent.name if target.is_file() else target.name)
            if label in datasets:
                raise ConfigError(f"two inputs are named {label!r}; name them with NAME=PATH")
            datasets[label] = target
        if (comet_python is None) != (comet_model is None):
            raise ConfigError("COMET needs both --comet-python and --comet-model")
        comet = CometConfig(python=comet_python, model=comet_model) if comet_python and comet_model else None
        result = run_metrics(datasets, out, MetricsConfig(tokenizer=tokenizer, comet=comet))
    console.print(to_markdown(result), markup=False, highlight=False, soft_wrap=True)
    console.print(f"[green]wrote[/] {escape(str(out))}/metrics.json and metrics.md", highlight=False)


@annotate_app.command("run")
def run(
    pipeline: Annotated[Path, typer.Argument(help="a pipeline YAML file (see `ayavision annotate example`)")],
    overwrite: Overwrite = False,
    retry_failed: RetryFailed = False,
    no_progress: NoProgress = False,
) -> None:
    """Run a pipeline of steps in order; each resumes where a killed run stopped."""
    from ayavision.annotate import load_pipeline, run_pipeline

    with user_errors():
        config = load_pipeline(pipeline)
        result = run_pipeline(config, overwrite=overwrite, retry_failed=retry_failed, progress=not no_progress)
    for step in result.steps.values():
        _report(step)
    for name in result.metrics:
        console.print(f"[bold]{name}[/]: {escape(str(config.out / name))}/metrics.md", highlight=False)


@annotate_app.command("example")
def example() -> None:
    """Print an example pipeline file."""
    from ayavision.annotate.pipeline import EXAMPLE

    console.print(EXAMPLE, markup=False, highlight=False, soft_wrap=True, end="")


@annotate_app.command("templates")
def templates(
    export: Annotated[
        Path | None, typer.Option("--export", help="copy the built-in templates into this folder")
    ] = None,
) -> None:
    """List the built-in prompt templates, or copy them into a folder to edit and pass as --template-dir."""
    from ayavision.annotate.templates import builtin_template_names, load_template

    with user_errors():
        for name in builtin_template_names():
            template = load_template(name, frozenset())
            if export is not None:
                target = export / f"{name}.txt"
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    raise FileExistsError(f"{target} exists; export into an empty folder")
                target.write_text(template.text, encoding="utf-8")
            console.print(name, markup=False, highlight=False)
    if export is not None:
        console.print(f"[green]exported[/] to {escape(str(export))}", highlight=False)
