"""Run one step over a dataset into a folder: resume what a killed run left, account for every record, finish."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from ayavision.annotate.config import BackendSpec, RunOptions
from ayavision.annotate.engine import StepAborted, StepSpec
from ayavision.annotate.inputs import count_items, input_signature, is_parquet, iter_items
from ayavision.annotate.journal import Journal
from ayavision.annotate.outputs import StepCounts, StepPaths, finalize
from ayavision.annotate.progress import StepProgress
from ayavision.backends import Backend, BackendError
from ayavision.data import dataset_root
from ayavision.errors import AyaVisionError, ConfigError
from ayavision.jobs import ExecutorConfig, Job, run_job
from ayavision.utils.fs import atomic_write_text


class ConfigChangedError(AyaVisionError, ValueError):
    """The output folder holds a run of another configuration; resuming it would mix two runs."""


@dataclass
class StepResult:
    summary: dict[str, Any]  # as summary.json holds it
    skipped: bool  # already finished with the same configuration and input: nothing was run

    @property
    def counts(self) -> StepCounts:
        """The summary, typed: what other modules read of it."""
        return StepCounts.of(self.summary)

    @property
    def output(self) -> Path:
        return self.counts.output


@contextlib.contextmanager
def _exclusive(paths: StepPaths) -> Iterator[None]:
    """One run per step folder: two appending to one journal would interleave their lines.

    An OS lock, so a killed run (kill -9 included) never leaves the folder locked.
    """
    lock_path = paths.journal.parent / "lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise ConfigError(f"{paths.root} is in use by another run (pid {handle.read().strip() or '?'})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def _output_format(option: str, input_path: Path) -> Literal["jsonl", "parquet"]:
    if option == "auto":
        return "parquet" if is_parquet(input_path) else "jsonl"
    return "parquet" if option == "parquet" else "jsonl"


def run_step(
    config: BaseModel,
    input_path: str | Path,
    out_dir: str | Path,
    backend: Backend | BackendSpec | None = None,
    *,
    executor: ExecutorConfig | None = None,
    options: RunOptions | None = None,
    plugins: list[str] | None = None,
    label: str | None = None,
) -> StepResult:
    """Run ``config``'s step over ``input_path`` into ``out_dir`` (``data.jsonl`` or ``data/``, ``ledger.jsonl``).

    ``backend`` is a built backend (local executor) or a spec that each worker builds (any executor).
    Killed and started again with the same arguments, it redoes no finished record and no cached request.
    """
    options = options or RunOptions()
    input_path, paths = Path(input_path), StepPaths(Path(out_dir))
    spec = StepSpec(config, backend if isinstance(backend, BackendSpec) else None, list(plugins or []))
    built = backend if isinstance(backend, Backend) else spec.build_backend()
    step = spec.build(built)  # validates templates and options before anything is written
    signature = input_signature(input_path)  # ... and that the input exists
    spec.root = dataset_root(input_path)
    with _exclusive(paths):
        return _run_locked(step, spec, built, backend, input_path, signature, paths, executor, options, label)


def _run_locked(
    step: Any,
    spec: StepSpec,
    built: Backend | None,
    backend: Backend | BackendSpec | None,
    input_path: Path,
    signature: list[dict[str, Any]],
    paths: StepPaths,
    executor: ExecutorConfig | None,
    options: RunOptions,
    label: str | None,
) -> StepResult:
    fingerprint = step.fingerprint()
    if options.overwrite:
        paths.clear()
    state = _previous_state(paths)
    if state is not None and state["fingerprint"] != fingerprint:
        raise ConfigChangedError(
            f"{paths.root} holds a {state.get('step')} run with another configuration (step, templates or backend); "
            "pass --overwrite to start it afresh (cached answers are kept) or choose another output folder"
        )
    if state is not None and state["input"] != signature:
        paths.clear()  # the input changed: its record numbering cannot be trusted; cached answers still apply
        state = None
    if paths.summary.exists() and not options.retry_failed and not _has_retryable(paths):
        summary = json.loads(paths.summary.read_text(encoding="utf-8"))
        return StepResult(summary, skipped=True)
    paths.root.mkdir(parents=True, exist_ok=True)
    header = {"step": step.name, "fingerprint": fingerprint, "input": signature, "out_dir": str(paths.root)}
    atomic_write_text(paths.step_file, json.dumps({**header, **step.describe()}, indent=2, default=str) + "\n")
    paths.summary.unlink(missing_ok=True)  # the folder is no longer a finished run until finalize says so

    journal = Journal(paths.journal)
    done = journal.open()
    redo = {i for i, d in done.items() if d.status == "failed" and (d.retryable or options.retry_failed)}
    already = {s: sum(d.status == s and i not in redo for i, d in done.items()) for s in ("kept", "dropped", "failed")}
    total = count_items(input_path)
    progress = StepProgress(label or step.name, total, already, enabled=options.progress)

    def todo():
        for item in iter_items(input_path):
            known = done.get(item.index)
            if known is not None and known.id != item.id:
                raise ConfigChangedError(f"{item.location}: record {item.id!r} is not the {known.id!r} recorded here")
            if known is None or item.index in redo:
                yield item

    def commit(entry: dict[str, Any]) -> None:
        journal.append(entry)
        progress.update(entry)

    job = Job(
        spec=spec,
        items=todo(),
        cache_dir=options.cache_dir or paths.cache,
        commit=commit,
        max_consecutive_failures=options.max_consecutive_failures,
        backend=built,
        close_backend=not isinstance(backend, Backend),
    )
    try:
        run_job(job, executor)
    except BackendError as err:  # the backend failed its check: no record can succeed
        raise StepAborted(f"backend error: {err}") from err
    finally:
        journal.close()
        progress.close()
    fmt = _output_format(options.output_format, input_path)
    summary = finalize(paths, journal, total, dataset_root(input_path), fmt, header)
    return StepResult(summary, skipped=False)


def _previous_state(paths: StepPaths) -> dict[str, Any] | None:
    if not paths.step_file.exists():
        return None
    return json.loads(paths.step_file.read_text(encoding="utf-8"))


def _has_retryable(paths: StepPaths) -> bool:
    summary = json.loads(paths.summary.read_text(encoding="utf-8"))
    return bool(summary.get("retryable"))
