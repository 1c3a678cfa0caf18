"""Configuration files: every reading problem is one error naming the file (and the line for bad YAML)."""

from __future__ import annotations

import pytest

from ayavision.utils.yamlfile import read_yaml_mapping


class ConfigError(ValueError):
    pass


def test_problems_name_the_file_and_raise_the_callers_error(tmp_path):
    with pytest.raises(ConfigError, match=r"missing.yaml: no such recipe file"):
        read_yaml_mapping(tmp_path / "missing.yaml", ConfigError, "recipe file")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\nb: [2, 3\nc: 4\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: not valid YAML"):
        read_yaml_mapping(bad, ConfigError)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"list.yaml: expected a mapping at the top level of the file, got list"):
        read_yaml_mapping(listed, ConfigError)


def test_an_empty_file_is_an_empty_mapping_only_when_allowed(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert read_yaml_mapping(empty, empty_ok=True) == {}
    with pytest.raises(ValueError, match="got NoneType"):
        read_yaml_mapping(empty)
    (tmp_path / "ok.yaml").write_text("name: x\nsteps: [1]\n")
    assert read_yaml_mapping(tmp_path / "ok.yaml") == {"name": "x", "steps": [1]}
