"""Run-folder outputs in stage fingerprints, and the signature cache: an edit inside the run reruns its readers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ayavision.recipe import signatures
from ayavision.recipe.artifacts import DataArtifact
from ayavision.recipe.engine import Stage, execute, plan
from ayavision.recipe.signatures import CACHE


def _stages(calls: list[str]) -> list[Stage]:
    """data -> filter (names {data.original}) -> train (names {filter.original}) -> report (needs train only)."""

    def make(name: str, reads: str | None, needs: tuple[str, ...] = ()) -> Stage:
        def run(ctx) -> DataArtifact:
            calls.append(name)
            text = ctx.resolve(Path(ctx.settings["in"])).read_text() if reads else "0\n"
            out = ctx.folder / "data.jsonl"
            out.write_text(text + f"{name}\n")
            return DataArtifact(original=out, summary={})

        settings = {"in": f"{{{reads}.original}}"} if reads else {"v": 1}
        return Stage(name, run, lambda: settings, needs, "", DataArtifact)

    return [make("data", None), make("filter", "data"), make("train", "filter"), make("report", None, ("train",))]


def _actions(run: Path) -> dict[str, str]:
    return {item.stage.name: item.action for item in plan(_stages([]), run)}


def test_a_dataset_edited_inside_the_run_reruns_the_stages_that_read_it_and_only_them(tmp_path: Path) -> None:
    calls: list[str] = []
    execute(_stages(calls), tmp_path, log=lambda _: None)
    assert calls == ["data", "filter", "train", "report"]
    assert set(_actions(tmp_path).values()) == {"reuse"}  # an unchanged rerun reuses every stage
    edited = tmp_path / "filter" / "data.jsonl"
    edited.write_text(edited.read_text().replace("filter", "kept by hand"))
    assert _actions(tmp_path) == {"data": "reuse", "filter": "reuse", "train": "run", "report": "run"}
    calls.clear()
    execute(_stages(calls), tmp_path, log=lambda _: None)
    assert calls == ["train", "report"]
    assert "kept by hand" in (tmp_path / "train" / "data.jsonl").read_text()
    assert set(_actions(tmp_path).values()) == {"reuse"}


def test_a_second_plan_of_an_unchanged_run_reads_no_file_contents(tmp_path: Path, monkeypatch) -> None:
    execute(_stages([]), tmp_path, log=lambda _: None)
    assert (tmp_path / CACHE).is_file()
    read: list[Path] = []
    digest = signatures.file_digest
    monkeypatch.setattr(signatures, "file_digest", lambda path: read.append(path) or digest(path))
    assert set(_actions(tmp_path).values()) == {"reuse"}
    assert read == []
    (tmp_path / "data" / "data.jsonl").write_text("edited\n")
    assert _actions(tmp_path)["filter"] == "run"
    assert read == [(tmp_path / "data" / "data.jsonl")]  # only the edited file is read again


def test_a_copied_run_folder_reuses_its_stages(tmp_path: Path) -> None:
    run = tmp_path / "run"
    execute(_stages([]), run, log=lambda _: None)
    copy = tmp_path / "elsewhere"
    shutil.copytree(run, copy, copy_function=shutil.copy)  # new paths and new mtimes: only the cache keys differ
    assert set(_actions(copy).values()) == {"reuse"}
    assert [item.fingerprint for item in plan(_stages([]), copy)] == [i.fingerprint for i in plan(_stages([]), run)]


@pytest.mark.parametrize("damage", ["", "not json", "[1, 2]"])
def test_a_damaged_cache_only_costs_hashing_again(tmp_path: Path, damage: str) -> None:
    execute(_stages([]), tmp_path, log=lambda _: None)
    (tmp_path / CACHE).write_text(damage)
    assert set(_actions(tmp_path).values()) == {"reuse"}
