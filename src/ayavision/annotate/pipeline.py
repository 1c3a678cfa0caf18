"""A pipeline file: input, output folder, named backends and a list of steps run in order, each resumable.

See ``EXAMPLE`` (printed by ``ayavision annotate example``) for the schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ayavision.annotate.config import MetricsConfig, PipelineConfig, RunOptions
from ayavision.annotate.engine import StepSpec
from ayavision.annotate.metrics.report import run_metrics
from ayavision.annotate.runner import StepResult, run_step
from ayavision.utils.config import load_config
from ayavision.utils.plugins import listed_plugins, load_plugins

EXAMPLE = """\
input: data/train.jsonl            # relative paths are relative to this file's folder
out: runs/demo/annotate            # each step writes out/<step id>/
backends:
  teacher: {kind: openai, base_url: http://localhost:8000/v1, model: CohereLabs/aya-vision-32b,
            api_key_env: OPENAI_API_KEY, concurrency: 64}
  nllb: {kind: transformers, model: /models/nllb-200-3.3B, batch_size: 16, device: cuda}
executor: {kind: local}            # or {kind: ray, workers: 4, address: auto}
steps:
  - {step: recaption, backend: teacher, max_tokens: 1024}
  - {step: filter, backend: teacher}
  - {step: translate, backend: nllb, languages: all, languages_per_record: 1, seed: 0}
  - {step: rephrase, backend: teacher}
  - {step: metrics, tokenizer: /models/aya-vision-8b}
"""


@dataclass
class PipelineResult:
    steps: dict[str, StepResult] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasets: dict[str, Path] = field(default_factory=dict)


def load_pipeline(path: str | Path) -> PipelineConfig:
    """Read and check a pipeline file; every problem names the file and the field (or line) at fault.

    The plug-ins it lists are imported first: a step or backend they register may be named in the file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such pipeline file")

    def import_plugins(raw: dict[str, Any]) -> dict[str, Any]:
        load_plugins(listed_plugins(raw), "plugins")
        return raw

    return load_config(path, PipelineConfig, prepare=import_plugins, what="pipeline file (input, out and steps)")


def check_pipeline(config: PipelineConfig) -> None:
    """Build every step and backend once (templates, options, API keys) before the first record is touched."""
    for step in config.steps:
        if isinstance(step.config, MetricsConfig):
            continue
        backend = config.backends[step.backend] if step.backend else None
        StepSpec(step.config, backend, config.plugins).build()


def run_pipeline(
    config: PipelineConfig, *, overwrite: bool = False, retry_failed: bool = False, progress: bool = True
) -> PipelineResult:
    """Run the steps in order; each resumes where it stopped; one with unchanged input and config is skipped."""
    check_pipeline(config)
    result = PipelineResult(datasets={"input": config.input})
    current = config.input
    for step in config.steps:
        out = config.out / step.name
        if isinstance(step.config, MetricsConfig):
            result.metrics[step.name] = run_metrics(dict(result.datasets), out, step.config)
            continue
        options = RunOptions(
            overwrite=overwrite, retry_failed=retry_failed, cache_dir=config.cache_dir, progress=progress
        )
        backend = config.backends[step.backend] if step.backend else None
        done = run_step(
            step.config,
            current,
            out,
            backend,
            executor=config.executor,
            options=options,
            plugins=config.plugins,
            label=step.name,
        )
        result.steps[step.name] = done
        current = done.output
        result.datasets[step.name] = current
    return result
