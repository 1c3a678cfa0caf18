"""The stage engine: caching by fingerprint, reruns below a change, resuming an interrupted stage."""

from __future__ import annotations

import pytest

from ayavision.errors import ConfigError
from ayavision.recipe.engine import DONE, RecipeRunError, Stage, execute, plan


def _chain(
    calls: list[str], settings: dict[str, dict], fail: set[str] | None = None, error: Exception | None = None
) -> list[Stage]:
    """Four stages; those in ``fail`` raise ``error`` (default: a user error) after writing their output."""
    fail = fail or set()
    error = error if error is not None else ConfigError("boom")

    def make(name: str, needs: tuple[str, ...]) -> Stage:
        def run(ctx):
            calls.append(name)
            for upstream in ctx.upstream.values():
                assert (upstream / DONE).exists()
            (ctx.folder / "out.txt").write_text(name)
            if name in fail:
                raise error
            return {"name": name}

        return Stage(name, run, lambda: settings[name], needs)

    return [make("data", ()), make("train", ("data",)), make("merge", ("train",)), make("report", ("merge", "data"))]


def test_second_run_reuses_everything_and_a_change_reruns_only_downstream(tmp_path):
    settings = {name: {"x": 1} for name in ("data", "train", "merge", "report")}
    calls: list[str] = []
    execute(_chain(calls, settings), tmp_path, log=lambda _: None)
    assert calls == ["data", "train", "merge", "report"]
    calls.clear()
    report = execute(_chain(calls, settings), tmp_path, log=lambda _: None)
    assert calls == [] and report.reused == ["data", "train", "merge", "report"]
    assert report.summaries["merge"] == {"name": "merge"}
    settings["merge"] = {"x": 2}
    execute(_chain(calls, settings), tmp_path, log=lambda _: None)
    assert calls == ["merge", "report"]


def test_an_interrupted_stage_is_resumed_and_earlier_ones_are_not_redone(tmp_path):
    settings = {name: {} for name in ("data", "train", "merge", "report")}
    calls: list[str] = []
    with pytest.raises(RecipeRunError, match="'train' failed"):
        execute(_chain(calls, settings, fail={"train"}), tmp_path, log=lambda _: None)
    assert not (tmp_path / "train" / DONE).exists() and (tmp_path / "train" / "out.txt").exists()
    actions = {item.stage.name: item.action for item in plan(_chain([], settings), tmp_path)}
    assert actions == {"data": "reuse", "train": "resume", "merge": "run", "report": "run"}
    calls.clear()
    execute(_chain(calls, settings), tmp_path, log=lambda _: None)
    assert calls == ["train", "merge", "report"]
    assert (tmp_path / "train" / "out.txt").exists()  # a resumed stage keeps what it had written


def test_only_and_from(tmp_path):
    settings = {name: {} for name in ("data", "train", "merge", "report")}
    calls: list[str] = []
    execute(_chain(calls, settings), tmp_path, log=lambda _: None)
    calls.clear()
    execute(_chain(calls, settings), tmp_path, start="merge", log=lambda _: None)
    assert calls == ["merge", "report"]
    calls.clear()
    execute(_chain(calls, settings), tmp_path, only="train", log=lambda _: None)
    assert calls == ["train"]
    with pytest.raises(ValueError, match="no such stage"):
        plan(_chain([], settings), tmp_path, only="nope")
    fresh = tmp_path / "fresh"
    with pytest.raises(RecipeRunError, match="not up to date"):
        execute(_chain(calls, settings), fresh, only="merge", log=lambda _: None)
    # Stage by stage in a new folder: each --only run succeeds and leaves the stages below it for later.
    calls.clear()
    for name in ("data", "train"):
        report = execute(_chain(calls, settings), tmp_path / "stepwise", only=name, log=lambda _: None)
        assert report.ran == [name]
    assert calls == ["data", "train"] and not (tmp_path / "stepwise" / "merge").exists()


def test_a_user_error_in_a_stage_names_the_stage_and_chains_the_cause(tmp_path):
    settings = {name: {} for name in ("data", "train", "merge", "report")}
    with pytest.raises(RecipeRunError, match=r"^stage 'train' failed: boom$") as caught:
        execute(_chain([], settings, fail={"train"}), tmp_path, log=lambda _: None)
    assert isinstance(caught.value.__cause__, ConfigError)
    assert (tmp_path / "data" / DONE).exists() and not (tmp_path / "train" / DONE).exists()


def test_a_bug_in_a_stage_propagates_as_itself_and_the_stage_is_not_done(tmp_path):
    settings = {name: {} for name in ("data", "train", "merge", "report")}
    calls: list[str] = []
    with pytest.raises(ZeroDivisionError, match="bug") as caught:
        execute(_chain(calls, settings, fail={"train"}, error=ZeroDivisionError("bug")), tmp_path, log=lambda _: None)
    assert not isinstance(caught.value, RecipeRunError)
    assert any("'train'" in note for note in caught.value.__notes__)  # the traceback says which stage
    assert calls == ["data", "train"]
    assert (tmp_path / "data" / DONE).exists() and not (tmp_path / "train" / DONE).exists()
    # A KeyError is a bug too, even though KeyError once meant "unknown name" to the CLI.
    with pytest.raises(KeyError):
        execute(_chain([], settings, fail={"train"}, error=KeyError("bug")), tmp_path, log=lambda _: None)
    assert not (tmp_path / "train" / DONE).exists()
