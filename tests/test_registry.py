"""The one registry type and the one plug-in loader: one rule for a taken name, one error for an unknown one."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from ayavision.errors import ConfigError
from ayavision.utils.plugins import listed_plugins, load_plugins
from ayavision.utils.registry import Registry


@dataclass(frozen=True)
class Widget:
    size: int


def shout() -> str:
    return "!"


def whisper() -> str:
    return "."


def test_the_same_object_again_is_a_no_op_and_another_is_refused_naming_both():
    registry: Registry = Registry("sound")
    assert registry.register("loud")(shout) is shout
    registry.add("loud", shout)  # a plug-in imported twice
    with pytest.raises(ConfigError, match=r"a sound named 'loud' is already registered \(.*\.shout\); .*\.whisper"):
        registry.add("loud", whisper)
    assert registry.get("loud") is shout
    widgets: Registry[Widget] = Registry("widget")
    widgets.add("w", Widget(1))
    widgets.add("w", Widget(1))  # an equal value made anew (a frozen dataclass) is the same entry
    with pytest.raises(ConfigError, match="already registered"):
        widgets.add("w", Widget(2))


def test_an_unknown_name_is_a_config_error_naming_the_kind_and_the_names_there_are():
    registry: Registry = Registry("sound")
    registry.add("quiet", whisper)
    registry.add("loud", shout)
    with pytest.raises(ConfigError, match=r"^unknown sound 'soft'; available: loud, quiet$"):
        registry.get("soft")
    assert registry.get("soft", None) is None
    assert registry.names() == ["loud", "quiet"] and list(registry) == ["quiet", "loud"]  # registration order
    assert "loud" in registry and "soft" not in registry and len(registry) == 2
    with pytest.raises(ConfigError, match=r"available: none"):
        Registry("sound").get("x")


# The registry the built-in module of the next test fills (it imports this module to find it).
FILLED: Registry | None = None


def test_builtins_are_imported_on_the_first_lookup_only(tmp_path, monkeypatch):
    module = "ayavision_test_builtin_sounds"
    (tmp_path / f"{module}.py").write_text(
        "from tests.test_registry import FILLED, shout\nFILLED.add('built-in', shout)\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sounds: Registry = Registry("sound", builtins=(module,))
    monkeypatch.setattr(f"{__name__}.FILLED", sounds)
    try:
        sounds.add("plug-in", whisper)  # registering imports no built-in: a built-in module registers itself
        assert module not in sys.modules
        assert sounds.names() == ["built-in", "plug-in"] and module in sys.modules
    finally:
        sys.modules.pop(module, None)
    missing = Registry("sound", builtins=("no_such_sound_module",))
    with pytest.raises(ConfigError, match=r"built-in sounds: cannot import 'no_such_sound_module'"):
        missing.get("x")


def test_plugins_are_imported_once_and_a_missing_one_names_where_it_was_listed(tmp_path, monkeypatch):
    module = "ayavision_test_counting_plugin"
    (tmp_path / f"{module}.py").write_text("import builtins\nbuiltins.PLUGIN_IMPORTS += 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("builtins.PLUGIN_IMPORTS", 0, raising=False)
    try:
        load_plugins([module, module], "plugins")
        load_plugins([module], "--plugin")
        import builtins

        assert builtins.PLUGIN_IMPORTS == 1  # type: ignore[attr-defined]
    finally:
        sys.modules.pop(module, None)
    with pytest.raises(ConfigError, match=r"^recipe.yaml: plugins: cannot import 'no\.such\.plugin': No module"):
        load_plugins(["no.such.plugin"], "recipe.yaml: plugins")
    broken = "ayavision_test_broken_plugin"
    (tmp_path / f"{broken}.py").write_text("1 / 0\n", encoding="utf-8")
    try:
        with pytest.raises(ZeroDivisionError):  # a bug in the plug-in is its own, with its traceback
            load_plugins([broken], "plugins")
    finally:
        sys.modules.pop(broken, None)


def test_the_plugins_a_file_lists_are_read_before_it_is_validated():
    assert listed_plugins({"plugins": ["a", "b.c"]}) == ["a", "b.c"]
    assert listed_plugins({"plugins": "a"}) == [] and listed_plugins({"plugins": [1]}) == []  # validation says why
    assert listed_plugins({}) == [] and listed_plugins(["a"]) == []


def test_every_registry_of_the_package_is_one_of_these():
    from ayavision.annotate.registry import STEPS
    from ayavision.backends import BACKENDS
    from ayavision.evaluate.benchmarks import BENCHMARKS
    from ayavision.evaluate.metrics import METRICS
    from ayavision.recipe.config import DATA_SOURCE_OPTIONS, DATA_SOURCES
    from ayavision.recipe.report import REPORT_SECTIONS

    registries = (STEPS, BACKENDS, BENCHMARKS, METRICS, DATA_SOURCES, DATA_SOURCE_OPTIONS, REPORT_SECTIONS)
    assert all(isinstance(registry, Registry) for registry in registries)
    assert {"openai", "transformers"} <= set(BACKENDS.names())  # built-ins, imported on the first lookup
    assert {"recaption", "filter", "translate", "rephrase"} <= set(STEPS.names())
    with pytest.raises(ConfigError, match=r"unknown step 'summarise'; available: filter, recaption"):
        STEPS.get("summarise")
