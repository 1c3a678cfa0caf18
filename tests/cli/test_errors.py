"""One error root: a user error is one red line and exit status 2; a bug keeps its traceback (exit status 1)."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ayavision
import ayavision.world.recipe  # registers the demo's data source before a test replaces it
from ayavision.cli.main import app
from ayavision.errors import AyaVisionError, ConfigError
from ayavision.recipe.config import DATA_SOURCES
from ayavision.recipe.engine import DONE, RecipeRunError
from ayavision.recipe.run import demo_recipe

runner = CliRunner()

# Exception classes of the package that are not user errors, each for a reason. Anything else must derive from
# AyaVisionError, so that the CLI (and a recipe stage) reports it as one line instead of a traceback.
INTERNAL_EXCEPTIONS = {
    # Control flow inside a module, caught where it is raised: never reaches a user.
    "ayavision.backends.openai._Attempt",
    "ayavision.data.importers._Skip",
    "ayavision.merge.record.HashCancelled",
    # A data worker process that died, or an error it raised that could not be sent back: the text carries the
    # worker's traceback, which is what someone needs to see.
    "ayavision.train.data_workers.DataWorkerError",
}


def _package_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class defined in an ayavision module (the packages without __init__ included)."""
    root = Path(ayavision.__file__).parent
    found: dict[str, type[BaseException]] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_error_class_of_the_package_is_a_user_error_unless_listed_as_internal():
    found = _package_exceptions()
    assert len(found) > 40  # the walk reached the namespace packages (model/, train/) too
    strays = sorted(name for name, cls in found.items() if not issubclass(cls, AyaVisionError))
    assert strays == sorted(INTERNAL_EXCEPTIONS)
    # One recipe error: the recipe and `ayavision train` raise the same class.
    from ayavision.recipe.config import RecipeError as WholeRecipeError
    from ayavision.train.config import RecipeError as TrainRecipeError

    assert WholeRecipeError is TrainRecipeError


def test_user_error_classes_keep_their_built_in_base():
    from ayavision.data import DataError
    from ayavision.model.presets import UnknownPresetError
    from ayavision.model.spec import SpecError
    from ayavision.utils.fs import OutputExistsError

    assert issubclass(SpecError, ValueError) and issubclass(DataError, ValueError)
    assert issubclass(UnknownPresetError, KeyError) and issubclass(OutputExistsError, FileExistsError)
    assert issubclass(RecipeRunError, RuntimeError)


def test_a_bad_config_field_is_one_line_naming_the_file_and_field_with_exit_2(tmp_path):
    bad = tmp_path / "model.yaml"
    bad.write_text("name: x\nbase: /nowhere\ntiling: {max_tilez: 3}\n")
    result = runner.invoke(app, ["build-model", "--config", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {bad}: tiling.max_tilez: Extra inputs are not permitted"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("error", [ConfigError("no such thing"), PermissionError("no such thing")])
def test_user_errors_raised_anywhere_in_a_command_are_one_line(monkeypatch, tmp_path, error):
    def broken(path):
        raise error

    monkeypatch.setattr("ayavision.model.spec.load_spec", broken)
    result = runner.invoke(app, ["build-model", "--config", str(tmp_path / "m.yaml"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and result.stderr == "error: no such thing\n"


@pytest.mark.parametrize("bug", [KeyError("bug"), ValueError("bug"), ZeroDivisionError("bug"), OSError("bug")])
def test_a_bug_in_a_command_is_not_turned_into_a_red_line(monkeypatch, tmp_path, bug):
    def broken(path):
        raise bug

    monkeypatch.setattr("ayavision.model.spec.load_spec", broken)
    result = runner.invoke(app, ["build-model", "--config", str(tmp_path / "m.yaml"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1  # an uncaught exception's status, never the user-error status 2
    assert result.exception is bug
    assert "error:" not in result.stderr


def test_in_a_real_process_a_bug_prints_its_traceback_and_a_user_error_does_not(tmp_path):
    bug = (
        "import sys, ayavision.model.spec as spec\n"
        "def broken(path): raise KeyError('bug')\n"
        "spec.load_spec = broken\n"
        "from ayavision.cli.main import app\n"
        "app(sys.argv[1:])\n"
    )
    args = ["build-model", "--config", str(tmp_path / "m.yaml"), "--out", str(tmp_path / "o")]
    crashed = subprocess.run([sys.executable, "-c", bug, *args], capture_output=True, text=True, timeout=120)
    assert crashed.returncode == 1
    assert "Traceback (most recent call last)" in crashed.stderr and "KeyError: 'bug'" in crashed.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "ayavision.cli.main", *args], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 2
    assert refused.stderr == f"error: {tmp_path / 'm.yaml'}: no such model config\n"


def _run_demo(tmp_path: Path) -> object:
    return runner.invoke(app, ["run", str(demo_recipe(True)), "--out", str(tmp_path / "run")])


def test_a_bug_inside_a_recipe_stage_reaches_the_cli_as_itself(monkeypatch, tmp_path):
    def broken(options, out):
        raise ZeroDivisionError("bug")

    monkeypatch.setitem(DATA_SOURCES, "shapes-world", broken)
    result = _run_demo(tmp_path)
    assert isinstance(result.exception, ZeroDivisionError) and not isinstance(result.exception, RecipeRunError)
    assert result.exit_code == 1 and "error:" not in result.stderr
    assert (tmp_path / "run" / "data").is_dir() and not (tmp_path / "run" / "data" / DONE).exists()


def test_a_user_error_inside_a_recipe_stage_is_one_line_naming_the_stage(monkeypatch, tmp_path):
    def refuses(options, out):
        raise ConfigError("data.options.n: too many")

    monkeypatch.setitem(DATA_SOURCES, "shapes-world", refuses)
    result = _run_demo(tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: stage 'data' failed: data.options.n: too many (fix it and run again: finished stages are kept)\n"
    )
    assert not (tmp_path / "run" / "data" / DONE).exists()
