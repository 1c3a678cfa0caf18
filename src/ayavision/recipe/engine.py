"""Run a chain of stages in a run folder, reusing every stage whose inputs and settings are unchanged.

A stage's fingerprint hashes its own resolved settings, the fingerprints of the stages it reads
from (those it needs and those its settings name as ``{stage.key}``), the content signatures of
the files outside the run folder its settings name (a user's dataset, a checkpoint) and those of the
upstream outputs its settings name (``{annotate.filter}``: a dataset inside the run folder), so a change
anywhere upstream, an edited input file, or an output edited by hand inside the run folder reruns
everything below it and nothing above. Signatures hash file contents once: ``signatures.SignatureCache``
keeps each file's digest in the run folder's ``.signatures.json`` by path, size and mtime. A stage's
folder gets `stage.json` (resolved settings + fingerprint) first and `DONE` last, both with the
stage's typed artifact once it has finished (see `artifacts`): a folder without `DONE` is an
interrupted stage and is redone from its own beginning (stages that can resume inside themselves,
like training, do). A stage sees the artifacts of the finished stages before it as
``StageContext.inputs`` and resolves its settings' references with ``StageContext.resolve``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ayavision.errors import USER_ERRORS, AyaVisionError, ConfigError
from ayavision.recipe.artifacts import (
    Artifact,
    Inputs,
    dump_artifact,
    input_signatures,
    load_artifact,
    reference_signatures,
    references_in,
)
from ayavision.recipe.signatures import SignatureCache
from ayavision.utils.errors import format_validation_error
from ayavision.utils.fs import atomic_write_text

DONE = "DONE"
STAGE_RECORD = "stage.json"


@dataclass
class StageContext:
    """What a stage's function sees: its folder, its settings, the folders of the stages it needs, and the
    artifacts of every finished stage before it (``inputs``)."""

    run_dir: Path
    folder: Path
    settings: dict[str, Any]
    upstream: dict[str, Path]
    log: Callable[[str], None] = print
    inputs: Inputs = field(default_factory=Inputs)

    def resolve(self, value: Any, where: str = "") -> Any:
        """``value`` with its ``{stage.key}`` references filled in from ``inputs``."""
        return self.inputs.resolve(value, where or f"stage {self.folder.name!r}")


@dataclass
class Stage:
    name: str
    # returns its artifact (or just a summary) kept in stage.json and DONE
    run: Callable[[StageContext], Artifact | dict[str, Any] | None]
    settings: Callable[[], dict[str, Any]]  # the resolved settings that determine the outputs
    needs: tuple[str, ...] = ()
    description: str = ""
    artifact: type[Artifact] | None = None  # the type its artifact is read back as (None: any recorded type)


@dataclass
class PlanItem:
    stage: Stage
    fingerprint: str
    action: str  # "run", "reuse", "resume", "skip (--only)", ...


@dataclass
class RunReport:
    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    summaries: dict[str, Any] = field(default_factory=dict)


class RecipeRunError(AyaVisionError, RuntimeError):
    """A stage failed on a user error (its cause is chained), or cannot run yet; its folder is left without DONE
    so the next run redoes it. A bug in a stage is not wrapped: it propagates as itself, with its traceback."""


def fingerprint(
    settings: dict[str, Any],
    upstream: list[str],
    run_dir: Path | None = None,
    inputs: dict[str, str] | None = None,
    outputs_read: dict[str, str] | None = None,
) -> str:
    """A hash of a stage's settings, its upstream fingerprints, its input files' content signatures and those of
    the upstream outputs it names (``outputs_read``). Paths inside the run folder count as ``{run}/...``: the
    same stage in two run folders (two variants of a sweep, a copied run) has the same fingerprint."""
    content: dict[str, Any] = {"settings": settings, "upstream": upstream}
    if inputs:
        content["inputs"] = inputs
    if outputs_read:  # absent when a stage names none: such stages keep the fingerprints they always had
        content["outputs_read"] = outputs_read
    payload = json.dumps(content, sort_keys=True, default=str)
    if run_dir is not None:
        payload = payload.replace(json.dumps(str(run_dir))[1:-1], "{run}")
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def plan(stages: list[Stage], run_dir: Path, only: str | None = None, start: str | None = None) -> list[PlanItem]:
    """Decide, without computing anything, which stages run and which are reused.

    A stage's fingerprint covers the outputs it names of the finished stages before it; an output of a stage that
    is still to run is not known yet, so ``execute`` fingerprints such a stage again once its upstream has run.
    """
    cache = SignatureCache.of_run(run_dir)
    try:
        return _plan(stages, run_dir, only, start, cache)
    finally:
        cache.save()


def _plan(
    stages: list[Stage], run_dir: Path, only: str | None, start: str | None, cache: SignatureCache
) -> list[PlanItem]:
    names = [s.name for s in stages]
    finished = Inputs()  # the artifacts of the stages kept as they are, whose outputs later stages may name
    for flag, name in (("--only", only), ("--from", start)):
        if name is not None and name not in names:
            raise ConfigError(f"{flag} {name!r}: no such stage; stages: {', '.join(names)}")
    prints: dict[str, str] = {}
    items = []
    forced = False
    for stage in stages:
        missing = [n for n in stage.needs if n not in prints]
        if missing:
            raise ValueError(f"stage {stage.name!r} needs {missing}, which do not come before it")
        settings = stage.settings()
        needs = reads(stage, settings, names)
        bad = [n for n in needs if n not in prints]
        if bad:
            raise ConfigError(
                f"stage {stage.name!r} refers to the outputs of {', '.join(map(repr, bad))}, which "
                f"{'does' if len(bad) == 1 else 'do'} not come before it; stages: {', '.join(names)}"
            )
        prints[stage.name] = stage_fingerprint(stage, settings, needs, prints, run_dir, finished, cache)
        folder = run_dir / stage.name
        done = _done_fingerprint(folder, artifact=stage.artifact is not None)
        forced = forced or stage.name == start
        if only is not None:
            if stage.name == only:
                action = "run (--only)"
            else:
                action = "reuse" if done == prints[stage.name] else "skip (--only)"
        elif forced:
            action = "run (--from)"
        elif done == prints[stage.name]:
            action = "reuse"
        elif (folder / STAGE_RECORD).exists() and _recorded_fingerprint(folder) == prints[stage.name]:
            action = "resume"
        else:
            action = "run"
        if not action.startswith(("run", "resume")) and (folder / DONE).exists():
            _keep_artifact(finished, stage, folder, run_dir)
        items.append(PlanItem(stage, prints[stage.name], action))
    return items


def stage_fingerprint(
    stage: Stage,
    settings: dict[str, Any],
    needs: tuple[str, ...],
    prints: dict[str, str],
    run_dir: Path,
    finished: Inputs,
    cache: SignatureCache,
) -> str:
    """A stage's fingerprint given its upstream stages' fingerprints and the artifacts of those finished."""
    outside = input_signatures(settings, run_dir, cache)
    named = reference_signatures(settings, finished, cache)
    return fingerprint(settings, [prints[n] for n in needs], run_dir, outside, named)


def _keep_artifact(finished: Inputs, stage: Stage, folder: Path, run_dir: Path) -> None:
    """A kept stage's artifact for planning; one that does not read back is left to ``execute`` to report."""
    try:
        artifact = read_artifact(folder, run_dir, stage.artifact)
    except ValidationError:
        return
    if artifact is not None:
        finished[stage.name] = artifact


def reads(stage: Stage, settings: dict[str, Any], names: list[str]) -> tuple[str, ...]:
    """The stages a stage reads from: those it needs, then those its settings refer to as ``{stage.key}``."""
    referred = [name for name, _ in references_in(settings) if name in names or name == stage.name]
    return tuple(dict.fromkeys([*stage.needs, *referred]))


def read_artifact(folder: Path, run_dir: Path, kind: type[Artifact] | None = None) -> Artifact | None:
    """The artifact a finished stage recorded in its DONE (None: not finished, or recorded no artifact)."""
    try:
        record = json.loads((folder / DONE).read_text(encoding="utf-8")).get("artifact")
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return None if record is None else load_artifact(record, run_dir, kind)


def execute(
    stages: list[Stage],
    run_dir: Path,
    only: str | None = None,
    start: str | None = None,
    log: Callable[[str], None] = print,
) -> RunReport:
    run_dir.mkdir(parents=True, exist_ok=True)
    report = RunReport()
    items = plan(stages, run_dir, only, start)
    names = [s.name for s in stages]
    inputs = Inputs()
    prints = {item.stage.name: item.fingerprint for item in items}
    cache = SignatureCache.of_run(run_dir)
    for item in items:
        stage, folder = item.stage, run_dir / item.stage.name
        if item.action == "reuse":
            report.reused.append(stage.name)
            report.summaries[stage.name] = json.loads((folder / DONE).read_text(encoding="utf-8")).get("summary")
            _collect(inputs, stage, folder, run_dir)
            continue
        if item.action.startswith("skip"):
            # Below the --only stage a skipped stage is simply left for a later run; above it, it is an input.
            if only not in report.ran and not (folder / DONE).exists():
                raise RecipeRunError(f"--only {only}: stage {stage.name!r} it depends on is not up to date; run it")
            _collect(inputs, stage, folder, run_dir)
            continue
        settings = stage.settings()
        missing = [n for n in reads(stage, settings, names) if not (run_dir / n / DONE).exists()]
        if missing:
            raise RecipeRunError(f"stage {stage.name!r}: upstream stages {missing} have not completed")
        # Fingerprinted again now that its upstream outputs exist: what the next plan computes when they are kept.
        prints[stage.name] = stage_fingerprint(stage, settings, reads(stage, settings, names), prints, run_dir,
                                               inputs, cache)  # fmt: skip
        cache.save()
        if item.action != "resume":
            _clear(folder)
        folder.mkdir(parents=True, exist_ok=True)
        record = {"stage": stage.name, "fingerprint": prints[stage.name], "settings": settings}
        atomic_write_text(folder / STAGE_RECORD, json.dumps(record, indent=1, default=str))
        log(f"[{stage.name}] {item.action}: {stage.description}")
        started = time.perf_counter()
        context = StageContext(run_dir, folder, settings, {n: run_dir / n for n in stage.needs}, log, Inputs(inputs))
        try:
            result = stage.run(context)
        except USER_ERRORS as err:
            raise RecipeRunError(f"stage {stage.name!r} failed: {_describe(err)}") from err
        except Exception as err:
            # A bug (possibly after hours of training): re-raised as itself so its traceback shows where; the
            # folder stays without DONE, like a user error's. The note says which stage it was.
            err.add_note(f"in recipe stage {stage.name!r}; its folder {folder} is left without {DONE}")
            raise
        elapsed = time.perf_counter() - started
        artifact = result if isinstance(result, Artifact) else None
        summary = artifact.summary if artifact is not None else result
        done: dict[str, Any] = {"fingerprint": prints[stage.name], "seconds": round(elapsed, 2), "summary": summary}
        if artifact is not None:
            done["artifact"] = record["artifact"] = dump_artifact(artifact, run_dir)
            atomic_write_text(folder / STAGE_RECORD, json.dumps(record, indent=1, default=str))
            inputs[stage.name] = artifact
        atomic_write_text(folder / DONE, json.dumps(done, indent=1, default=str))
        report.ran.append(stage.name)
        report.summaries[stage.name] = summary
        log(f"[{stage.name}] done in {elapsed:.1f}s")
    return report


def _collect(inputs: Inputs, stage: Stage, folder: Path, run_dir: Path) -> None:
    """A finished stage's artifact, for the stages after it."""
    try:
        artifact = read_artifact(folder, run_dir, stage.artifact)
    except ValidationError as err:
        raise RecipeRunError(
            f"stage {stage.name!r}: the artifact in {folder / DONE} does not read back "
            f"({format_validation_error(err)}); rerun it with --from {stage.name}"
        ) from None
    if artifact is not None:
        inputs[stage.name] = artifact


def _describe(err: Exception) -> str:
    """A user error in one line: a pydantic error names each field, a KeyError's quotes are dropped."""
    if isinstance(err, ValidationError):
        return format_validation_error(err)
    return str(err).strip("'\"") if isinstance(err, KeyError) else str(err)


def _done_fingerprint(folder: Path, artifact: bool = False) -> str | None:
    """The fingerprint a finished stage recorded; None when it has not finished, or (``artifact``) finished before
    stages recorded their artifacts (it is redone once: the stages after it read its artifact)."""
    try:
        record = json.loads((folder / DONE).read_text(encoding="utf-8"))
        if artifact and "artifact" not in record:
            return None
        return record["fingerprint"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None


def _recorded_fingerprint(folder: Path) -> str | None:
    try:
        return json.loads((folder / STAGE_RECORD).read_text(encoding="utf-8"))["fingerprint"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None


def _clear(folder: Path) -> None:
    import shutil

    if folder.exists():
        shutil.rmtree(folder)
