"""The one config loader: YAML or JSON, one error line naming the file and field, one path rule, one Strict base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel, Field

from ayavision.errors import ConfigError
from ayavision.utils.config import FrozenStrict, PathText, Strict, load_config


class Inner(Strict):
    data: Path
    more: list[Path] = Field(default_factory=list)


class Paths(Strict):
    name: str = "x"
    out: Path | None = None
    inner: Inner | None = None
    by_name: dict[str, Path] = Field(default_factory=dict)
    tokenizer: Annotated[str | None, PathText(keep=frozenset({"tiny"}))] = None
    label: str | None = None  # not a path: left alone


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_relative_paths_are_relative_to_the_file_at_any_depth(tmp_path):
    path = _write(
        tmp_path / "configs/run.yaml",
        "out: runs/a\ninner: {data: ../data/x.jsonl, more: [b, /abs/c]}\nby_name: {k: d}\n"
        "tokenizer: tok\nlabel: some/text\n",
    )
    config = load_config(path, Paths)
    folder = (tmp_path / "configs").resolve()
    assert config.out == folder / "runs/a"
    assert config.inner is not None and config.inner.data == (tmp_path / "data/x.jsonl").resolve()  # normalised
    assert config.inner.more == [folder / "b", Path("/abs/c")]  # an absolute path stays as it is
    assert config.by_name == {"k": folder / "d"}
    assert config.tokenizer == str(folder / "tok") and config.label == "some/text"


def test_placeholders_home_and_kept_words_are_not_resolved(tmp_path):
    path = _write(tmp_path / "c.yaml", "out: '{run}/data'\ninner: {data: ~/x}\ntokenizer: tiny\n")
    config = load_config(path, Paths)
    assert config.out == Path("{run}/data")  # filled in later (a recipe's run folder)
    assert config.inner is not None and config.inner.data == Path.home() / "x"
    assert config.tokenizer == "tiny"


def test_problems_are_one_error_naming_the_file_and_the_field_or_line(tmp_path):
    with pytest.raises(ConfigError, match=r"c\.yaml: inner\.data: Field required; nope: Extra inputs"):
        load_config(_write(tmp_path / "c.yaml", "inner: {}\nnope: 1\n"), Paths)
    with pytest.raises(ConfigError, match=r"bad\.yaml:3: not valid YAML"):
        load_config(_write(tmp_path / "bad.yaml", "a: 1\nb: [2\n"), Paths)
    with pytest.raises(ConfigError, match=r"bad\.json:2: not valid JSON \(Expecting"):
        load_config(_write(tmp_path / "bad.json", '{"name": "x",\n "out": }\n'), Paths)
    with pytest.raises(ConfigError, match=r"list\.yaml: expected a mapping at the top level of the run file, got list"):
        load_config(_write(tmp_path / "list.yaml", "- 1\n"), Paths, what="run file")
    with pytest.raises(ConfigError, match=r"missing\.yaml: no such config file"):
        load_config(tmp_path / "missing.yaml", Paths)

    class OwnError(ConfigError):
        pass

    with pytest.raises(OwnError, match=r"empty\.yaml: expected a mapping"):
        load_config(_write(tmp_path / "empty.yaml", ""), Paths, error=OwnError)
    assert load_config(tmp_path / "empty.yaml", Paths, empty_ok=True).name == "x"


def test_json_overrides_prepare_and_a_section(tmp_path):
    assert load_config(_write(tmp_path / "a.json", '{"name": "a"}'), Paths, section="train").name == "a"
    path = _write(tmp_path / "c.json", json.dumps({"train": {"name": "b", "out": "o"}}))
    assert load_config(path, Paths, section="train").name == "b"
    with pytest.raises(ConfigError, match=r"c\.json \(with --set train\.out\): train\.out: Input is not a valid path"):
        load_config(path, Paths, section="train", overrides=[("train.out", 3)])
    path = _write(tmp_path / "d.yaml", "name: a\n")
    assert load_config(path, Paths, overrides=[("name", "b")]).name == "b"
    with pytest.raises(ConfigError, match=r"d\.yaml \(with --set out\): out: Input is not a valid path"):
        load_config(path, Paths, overrides=[("out", 3)])

    def refuse(raw: dict) -> dict:
        raise ConfigError("plugins: cannot import 'x'")

    with pytest.raises(ConfigError, match=r"^.*d\.yaml: plugins: cannot import 'x'$"):
        load_config(path, Paths, prepare=refuse)
    assert load_config(path, Paths, prepare=lambda raw: {**raw, "label": "set"}).label == "set"


def test_every_config_model_derives_from_the_one_strict_base():
    from ayavision.annotate.config import PipelineConfig, PipelineStep, StepOptions
    from ayavision.backends.openai import OpenAIConfig
    from ayavision.evaluate.settings import GenerationSettings
    from ayavision.model.spec import ModelSpec
    from ayavision.recipe.config import RecipeConfig
    from ayavision.recipe.sweep import SweepConfig
    from ayavision.train.config import TrainRecipe
    from ayavision.world.config import DatasetConfig
    from ayavision.world.scene import SceneConfig

    models: list[type[BaseModel]] = [
        PipelineConfig, PipelineStep, StepOptions, OpenAIConfig, GenerationSettings, ModelSpec, RecipeConfig,
        SweepConfig, TrainRecipe, DatasetConfig, SceneConfig,
    ]  # fmt: skip
    assert all(issubclass(model, Strict) for model in models)
    assert all(issubclass(model, FrozenStrict) for model in (GenerationSettings, DatasetConfig, SceneConfig))
