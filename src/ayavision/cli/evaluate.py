"""CLI commands `eval ...`: answer a benchmark, judge two answer sets, score academic benchmarks, write a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ayavision.cli.common import console, user_errors
from ayavision.cli.options import ExecutorArgs, backend_spec, grouped
from ayavision.errors import ConfigError, InputError

eval_app = typer.Typer(no_args_is_help=True, help="Evaluate: answers, pairwise win rates, academic scores, reports.")

Data = Annotated[Path | None, typer.Option("--data", help="benchmark data: a file, a folder, or a dataset folder")]
Settings = Annotated[
    Path | None, typer.Option("--settings", help="a YAML/JSON file of settings (unknown keys refused)")
]
BaseUrl = Annotated[
    str | None, typer.Option("--base-url", help="an OpenAI-compatible endpoint, e.g. http://host:8000/v1")
]
ApiKeyEnv = Annotated[str | None, typer.Option("--api-key-env", help="environment variable holding the endpoint's key")]
BackendName = Annotated[str, typer.Option("--backend", help="a registered backend (default: openai, for --base-url)")]
BackendOptions = Annotated[
    list[str] | None, typer.Option("--backend-option", help="KEY=VALUE passed to the backend (repeatable)")
]
Progress = Annotated[bool, typer.Option("--progress/--no-progress", help="show a progress bar")]
Plugin = Annotated[
    list[str] | None, typer.Option("--plugin", help="module to import first (registers benchmarks, metrics, backends)")
]


def _plugins(modules: list[str] | None) -> None:
    from ayavision.utils.plugins import load_plugins

    load_plugins(modules or [], "--plugin")


def _backend(name: str, base_url: str | None, model: str | None, api_key_env: str | None, pairs, concurrency):
    """The backend as a spec: built where the job runs (here, or once per Ray worker), closed when the job ends."""
    if name == "openai" and (not base_url or not model):
        raise ConfigError("the openai backend needs --base-url URL and the served model's name")
    given = {"base_url": base_url, "model": model, "api_key_env": api_key_env} if name == "openai" else {}
    if name == "openai":
        given["concurrency"] = concurrency
    return backend_spec(name, given, pairs)


def _data_path(data: Path | None, recorded: str | None, needed: bool) -> Path | None:
    if data is not None:
        return data
    if recorded and Path(recorded).exists():
        return Path(recorded)
    if needed:
        where = f" (the answers name {recorded}, which does not exist)" if recorded else ""
        raise ConfigError(f"give the benchmark data with --data PATH{where}")
    return None


@eval_app.command("benchmarks")
def benchmarks(plugin: Plugin = None) -> None:
    """List the benchmarks, their kind, the fields each row must have, and where to fetch them once."""
    from ayavision.evaluate import BENCHMARKS

    with user_errors():
        _plugins(plugin)
    table = Table("name", "kind", "images", "fields", "fetch from")
    for bench in BENCHMARKS.values():
        table.add_row(bench.name, bench.kind, "yes" if bench.has_images else "no", bench.fields, bench.hub)
    console.print(table)


@eval_app.command("generate")
@grouped
def generate(
    bench: Annotated[str, typer.Option("--bench", help="benchmark name (see `ayavision eval benchmarks`)")],
    data: Annotated[Path, typer.Option("--data", help="benchmark data: a file, a folder, or a dataset folder")],
    out: Annotated[Path, typer.Option("--out", help="answers file (.jsonl); resumed if it exists")],
    run: ExecutorArgs,  # --executor local|ray, --workers, --ray-address (as `annotate` takes them)
    model: Annotated[Path | None, typer.Option("--model", help="a local AyaVision model folder")] = None,
    base_url: BaseUrl = None,
    served_model: Annotated[str | None, typer.Option("--served-model", help="model name at --base-url")] = None,
    api_key_env: ApiKeyEnv = None,
    backend: BackendName = "openai",
    backend_option: BackendOptions = None,
    language: Annotated[list[str] | None, typer.Option("--language", help="only this language (repeatable)")] = None,
    data_language: Annotated[str | None, typer.Option("--data-language", help="language of rows naming none")] = None,
    max_new_tokens: Annotated[int | None, typer.Option("--max-new-tokens", min=1)] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", min=0.0, help="0 = greedy")] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, help="items per local batch")] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", min=1, help="endpoint requests in flight")] = None,
    device: Annotated[str, typer.Option("--device", help="device of a local model: cpu, cuda, cuda:1")] = "cpu",
    dtype: Annotated[str | None, typer.Option("--dtype", help="float32 | bfloat16 | float16")] = None,
    settings_file: Settings = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="discard answers already in --out")] = False,
    progress: Progress = True,
    plugin: Plugin = None,
) -> None:
    """Answer a benchmark with a local model (batched, greedy) or an endpoint; cached and resumable per item."""
    from ayavision.evaluate import GenerationSettings, generate_answers, load_benchmark, load_settings

    with user_errors():
        _plugins(plugin)
        local = model is not None
        if local == (base_url is not None or backend != "openai"):
            raise ConfigError("give exactly one of --model DIR or --base-url URL (or another --backend)")
        settings = load_settings(
            GenerationSettings,
            settings_file,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            seed=seed,
            batch_size=batch_size,
            concurrency=concurrency,
        )
        loaded = load_benchmark(bench, data, languages=language, language=data_language)
        console.print(escape(loaded.summary()), highlight=False, soft_wrap=True)
        if overwrite and out.exists():
            out.unlink()
        if local:
            from ayavision.evaluate.local_model import LocalModel

            runner = LocalModel(model, device=device, dtype=dtype)  # type: ignore[arg-type]  # loaded by the backend
            source: dict[str, Any] = {"model": runner}
        else:
            source = {"backend": _backend(backend, base_url, served_model, api_key_env, backend_option,
                                          settings.concurrency)}  # fmt: skip
        summary = generate_answers(
            loaded.items, out, settings=settings, data=data, progress=progress, executor=run.executor_config(),
            plugins=plugin, **source,
        )  # fmt: skip
    note = f"; {summary.truncated} cut at --max-new-tokens" if summary.truncated else ""
    note += "; dropped a torn last line left by a killed run" if summary.repaired_tail else ""
    console.print(
        f"[green]answered[/] {summary.written} item(s), {summary.cached} already in {escape(str(out))}{note}",
        highlight=False,
        soft_wrap=True,
    )


def _winrate_table(results: dict[str, Any]) -> Table:
    from ayavision.evaluate.plots import language_label
    from ayavision.evaluate.winrate import WinRateSummary

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.1f}"

    def ci(value: tuple[float, float] | None) -> str:
        return "—" if not value else f"{100 * value[0]:.1f}–{100 * value[1]:.1f}"

    table = Table("language", "win %", "CI", "W/T/L", "scored", "missing", "not judged", "consistency %")
    table.title = f"{results['name']} on {results['bench']}"
    summary = WinRateSummary.of(results)
    rows = [(language_label(lang), row, None) for lang, row in summary.per_language.items()]
    rows.append((f"macro ({summary.languages} languages)", summary.overall, "bold"))
    for label, row, style in rows:
        assert row is not None  # WinRateSummary.of always fills the macro row
        counts = f"{row.wins}/{row.ties}/{row.losses}" if style is None else ""
        table.add_row(
            label, pct(row.win_rate), ci(row.ci), counts, str(row.scored), str(row.missing), str(row.unjudged),
            pct(row.position_consistency), style=style,
        )  # fmt: skip
    return table


@eval_app.command("judge")
@grouped
def judge(
    a: Annotated[Path, typer.Option("--a", help="answers of system A (the one whose win rate is reported)")],
    b: Annotated[Path, typer.Option("--b", help="answers of system B (the baseline)")],
    out: Annotated[Path, typer.Option("--out", help="results folder (judgments cached there; resumable)")],
    run: ExecutorArgs,  # --executor local|ray, --workers, --ray-address (as `annotate` takes them)
    base_url: BaseUrl = None,
    model: Annotated[str | None, typer.Option("--model", help="the judge model's name at --base-url")] = None,
    api_key_env: ApiKeyEnv = None,
    backend: BackendName = "openai",
    backend_option: BackendOptions = None,
    data: Data = None,
    strong_weight: Annotated[
        int | None, typer.Option("--strong-weight", min=1, help="games per strong verdict")
    ] = None,
    reask: Annotated[bool, typer.Option("--reask/--no-reask", help="ask once more after an unreadable verdict")] = True,
    concurrency: Annotated[int | None, typer.Option("--concurrency", min=1)] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=16, help="longest judge reply")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="bootstrap seed")] = None,
    settings_file: Settings = None,
    progress: Progress = True,
    plugin: Plugin = None,
) -> None:
    """Judge every item in both orders; per-language win rates with bootstrap CIs, macro average, consistency."""
    from ayavision.evaluate import (
        JudgeSettings,
        get_benchmark,
        judge_pairs,
        load_benchmark,
        load_settings,
        read_answers,
    )
    from ayavision.evaluate.winrate import WinRateSummary

    with user_errors():
        _plugins(plugin)
        settings = load_settings(
            JudgeSettings,
            settings_file,
            strong_weight=strong_weight,
            reask=None if reask else False,
            concurrency=concurrency,
            max_tokens=max_tokens,
            seed=seed,
        )
        answers_a, answers_b = read_answers(a), read_answers(b)
        if not answers_a.records:
            raise InputError(f"{a} holds no answers")
        bench = get_benchmark(answers_a.bench or "")
        path = _data_path(data, answers_a.data, needed=bench.has_images)
        items = load_benchmark(bench.name, path).by_id() if path is not None else None
        spec = _backend(backend, base_url, model, api_key_env, backend_option, settings.concurrency)
        results = judge_pairs(
            answers_a, answers_b, spec, out, items=items, settings=settings, progress=progress,
            executor=run.executor_config(), plugins=plugin,
        )  # fmt: skip
    console.print(_winrate_table(results))
    missing = WinRateSummary.of(results).missing
    if missing:
        console.print(
            f"[yellow]{missing} pair(s) left out: the judge's reply held no readable verdict, even when "
            f"asked again[/] (its replies are in {escape(str(out / 'judgments.jsonl'))})",
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"[green]wrote[/] {escape(str(out / 'results.json'))}", highlight=False)


@eval_app.command("score")
def score(
    answers: Annotated[Path, typer.Option("--answers", help="answers file of an academic benchmark")],
    out: Annotated[Path, typer.Option("--out", help="folder for scores.json and scored.jsonl")],
    data: Data = None,
    data_language: Annotated[str | None, typer.Option("--data-language", help="language of rows naming none")] = None,
    unparsed: Annotated[
        str, typer.Option("--unparsed", help="unreadable multiple-choice answers: wrong | random (seeded, counted)")
    ] = "wrong",
    seed: Annotated[int, typer.Option("--seed", help="seed of --unparsed random")] = 0,
    plugin: Plugin = None,
) -> None:
    """Score an academic benchmark (multiple choice, exact match, containment) per language."""
    from ayavision.evaluate import (
        ScoreSettings,
        get_benchmark,
        load_benchmark,
        load_settings,
        read_answers,
        score_academic,
    )
    from ayavision.evaluate.metrics import AccuracySummary
    from ayavision.evaluate.plots import language_label

    with user_errors():
        _plugins(plugin)
        settings = load_settings(ScoreSettings, None, unparsed=unparsed, seed=seed)
        answer_set = read_answers(answers)
        if not answer_set.records:
            raise InputError(f"{answers} holds no answers")
        bench = get_benchmark(answer_set.bench or "")
        if bench.kind != "academic":
            raise ConfigError(f"{bench.name} is judged pairwise, not scored: use `ayavision eval judge`")
        path = _data_path(data, answer_set.data, needed=True)
        languages = sorted({record["language"] for record in answer_set.records.values()})
        loaded = load_benchmark(bench.name, path, languages=languages, language=data_language)  # type: ignore[arg-type]
        console.print(escape(loaded.summary()), highlight=False, soft_wrap=True)
        result = score_academic(loaded.items, answer_set, out, settings)
    table = Table(
        "language", "accuracy %", "items", "unreadable", "randomised", title=f"{result['name']} on {result['bench']}"
    )
    summary = AccuracySummary.of(result)
    for lang, row in summary.rows.items():
        table.add_row(
            language_label(lang), f"{100 * row.accuracy:.1f}", str(row.n), str(row.unparsed), str(row.randomised)
        )
    assert summary.overall is not None  # AccuracySummary.of always fills it
    table.add_row("macro", f"{100 * summary.macro_accuracy:.1f}", str(summary.overall.n), "", "", style="bold")
    console.print(table)
    console.print(f"[green]wrote[/] {escape(str(out / 'scores.json'))}", highlight=False)


@eval_app.command("report")
def report(
    folders: Annotated[list[Path], typer.Argument(help="result folders of `eval judge` and `eval score`")],
    out: Annotated[Path, typer.Option("--out", help="report folder (report.md and PNG plots)")] = Path("report"),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace an existing report folder")] = False,
) -> None:
    """Write a markdown report with per-language win-rate and accuracy plots from one or more result folders."""
    from ayavision.evaluate import write_report

    with user_errors():
        path = write_report(folders, out, overwrite=overwrite)
    console.print(f"[green]wrote[/] {escape(str(path))}", highlight=False)
