"""Run a chain of stages in a run folder, reusing every stage whose inputs and settings are unchanged.

A stage's fingerprint hashes its own resolved settings and the fingerprints of the stages it reads
from, so a change anywhere upstream reruns everything below it and nothing above. A stage's folder
gets `stage.json` (resolved settings + fingerprint) first and `DONE` last: a folder without `DONE`
is an interrupted stage and is redone from its own beginning (stages that can resume inside
themselves, like training, do).
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
from ayavision.utils.errors import format_validation_error
from ayavision.utils.fs import atomic_write_text

DONE = "DONE"
STAGE_RECORD = "stage.json"


@dataclass
class StageContext:
    """What a stage's function sees: its folder, its settings, and the folders of the stages before it."""

    run_dir: Path
    folder: Path
    settings: dict[str, Any]
    upstream: dict[str, Path]
    log: Callable[[str], None] = print


@dataclass
class Stage:
    name: str
    run: Callable[[StageContext], dict[str, Any] | None]  # returns a summary kept in DONE
    settings: Callable[[], dict[str, Any]]  # the resolved settings that determine the outputs
    needs: tuple[str, ...] = ()
    description: str = ""


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


def fingerprint(settings: dict[str, Any], upstream: list[str], run_dir: Path | None = None) -> str:
    """A hash of a stage's settings and its upstream fingerprints. Paths inside the run folder count as
    ``{run}/...``: the same stage in two run folders (two variants of a sweep) has the same fingerprint."""
    payload = json.dumps({"settings": settings, "upstream": upstream}, sort_keys=True, default=str)
    if run_dir is not None:
        payload = payload.replace(json.dumps(str(run_dir))[1:-1], "{run}")
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def plan(stages: list[Stage], run_dir: Path, only: str | None = None, start: str | None = None) -> list[PlanItem]:
    """Decide, without computing anything, which stages run and which are reused."""
    names = [s.name for s in stages]
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
        prints[stage.name] = fingerprint(stage.settings(), [prints[n] for n in stage.needs], run_dir)
        folder = run_dir / stage.name
        done = _done_fingerprint(folder)
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
        items.append(PlanItem(stage, prints[stage.name], action))
    return items


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
    for item in items:
        stage, folder = item.stage, run_dir / item.stage.name
        if item.action == "reuse":
            report.reused.append(stage.name)
            report.summaries[stage.name] = json.loads((folder / DONE).read_text(encoding="utf-8")).get("summary")
            continue
        if item.action.startswith("skip"):
            # Below the --only stage a skipped stage is simply left for a later run; above it, it is an input.
            if only not in report.ran and not (folder / DONE).exists():
                raise RecipeRunError(f"--only {only}: stage {stage.name!r} it depends on is not up to date; run it")
            continue
        missing = [n for n in stage.needs if not (run_dir / n / DONE).exists()]
        if missing:
            raise RecipeRunError(f"stage {stage.name!r}: upstream stages {missing} have not completed")
        if item.action != "resume":
            _clear(folder)
        folder.mkdir(parents=True, exist_ok=True)
        settings = stage.settings()
        atomic_write_text(
            folder / STAGE_RECORD,
            json.dumps(
                {"stage": stage.name, "fingerprint": item.fingerprint, "settings": settings}, indent=1, default=str
            ),
        )
        log(f"[{stage.name}] {item.action}: {stage.description}")
        started = time.perf_counter()
        context = StageContext(run_dir, folder, settings, {n: run_dir / n for n in stage.needs}, log)
        try:
            summary = stage.run(context)
        except USER_ERRORS as err:
            raise RecipeRunError(f"stage {stage.name!r} failed: {_describe(err)}") from err
        except Exception as err:
            # A bug (possibly after hours of training): re-raised as itself so its traceback shows where; the
            # folder stays without DONE, like a user error's. The note says which stage it was.
            err.add_note(f"in recipe stage {stage.name!r}; its folder {folder} is left without {DONE}")
            raise
        elapsed = time.perf_counter() - started
        atomic_write_text(
            folder / DONE,
            json.dumps(
                {"fingerprint": item.fingerprint, "seconds": round(elapsed, 2), "summary": summary},
                indent=1,
                default=str,
            ),
        )
        report.ran.append(stage.name)
        report.summaries[stage.name] = summary
        log(f"[{stage.name}] done in {elapsed:.1f}s")
    return report


def _describe(err: Exception) -> str:
    """A user error in one line: a pydantic error names each field, a KeyError's quotes are dropped."""
    if isinstance(err, ValidationError):
        return format_validation_error(err)
    return str(err).strip("'\"") if isinstance(err, KeyError) else str(err)


def _done_fingerprint(folder: Path) -> str | None:
    try:
        return json.loads((folder / DONE).read_text(encoding="utf-8"))["fingerprint"]
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
