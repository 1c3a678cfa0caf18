"""`--set` overrides and `ayavision sweep`: variants share their common stages, compare, and resume when killed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ayavision.cli.main import app
from ayavision.recipe.config import RecipeError, load_recipe
from ayavision.recipe.engine import DONE, STAGE_RECORD
from ayavision.recipe.overrides import OverrideError, apply_overrides, parse_override
from ayavision.recipe.run import demo_recipe, plan_recipe
from ayavision.recipe.sweep import load_sweep, plan_sweep, run_sweep

SHARED = ["data", "annotate", "model", "align"]


def test_parse_override_reads_values_as_yaml():
    assert parse_override("train.stages.sft.max_steps=400") == ("train.stages.sft.max_steps", 400)
    assert parse_override("merge.alpha=0.3") == ("merge.alpha", 0.3)
    assert parse_override("a.b={x: 1, y: [2, 3]}") == ("a.b", {"x": 1, "y": [2, 3]})
    assert parse_override("name=my run") == ("name", "my run")
    for bad in ("no-equals", "=3", "a..b=1", "a.b={unclosed"):
        with pytest.raises(OverrideError):
            parse_override(bad)


def test_apply_overrides_sets_creates_and_indexes_without_touching_the_original():
    raw = {"a": {"b": 1}, "items": [{"x": 1}, {"x": 2}], "leaf": 3}
    out = apply_overrides(raw, [("a.b", 2), ("a.c.d", "new"), ("items.1.x", 5)])
    assert out == {"a": {"b": 2, "c": {"d": "new"}}, "items": [{"x": 1}, {"x": 5}], "leaf": 3}
    assert raw["a"] == {"b": 1} and raw["items"][1] == {"x": 2}
    with pytest.raises(OverrideError, match="items is a list of 2"):
        apply_overrides(raw, [("items.7.x", 1)])
    with pytest.raises(OverrideError, match="leaf is a int, not a mapping"):
        apply_overrides(raw, [("leaf.x", 1)])


def test_set_overrides_are_validated_like_the_file_and_errors_name_the_key(tmp_path):
    demo = demo_recipe(quick=True)
    recipe, _ = load_recipe(demo, tmp_path / "run", [("train.stages.sft.max_steps", 7), ("merge.alpha", 0.2)])
    assert recipe.train.stages["sft"].max_steps == 7 and recipe.merge.alpha == 0.2
    with pytest.raises(RecipeError, match=r"with --set train\.stages\.sft\.max_steps\).*train\.stages\.sft\.max_steps"):
        load_recipe(demo, tmp_path / "run", [("train.stages.sft.max_steps", "many")])
    with pytest.raises(RecipeError, match=r"train\.stages\.sft\.no_such_field"):
        load_recipe(demo, tmp_path / "run", [("train.stages.sft.no_such_field", 1)])
    with pytest.raises(RecipeError, match=r"data\.options.*encoder\.steps"):
        load_recipe(demo, tmp_path / "run", [("data.options.encoder.steps", "lots")])


def test_the_run_command_takes_set_and_fails_cleanly_on_a_bad_one(tmp_path):
    runner = CliRunner()
    good = runner.invoke(
        app, ["run", str(demo_recipe(True)), "--out", str(tmp_path / "r"), "--dry-run", "--set", "merge.alpha=0.2"]
    )
    assert good.exit_code == 0, good.output
    bad = runner.invoke(app, ["run", str(demo_recipe(True)), "--dry-run", "--set", "train.stages.sft.lr=fast"])
    assert bad.exit_code == 2 and "train.stages.sft.lr" in bad.output and "Traceback" not in bad.output


def test_fingerprints_do_not_depend_on_the_run_folder(tmp_path):
    first, _ = plan_recipe(demo_recipe(True), tmp_path / "one")
    second, _ = plan_recipe(demo_recipe(True), tmp_path / "two")
    assert [i.fingerprint for i in first] == [i.fingerprint for i in second]


def _sweep_file(tmp_path: Path) -> Path:
    sweep = {
        "base": str(demo_recipe(True)),
        "variants": {
            "short": {"train.stages.sft.max_steps": 2},
            "long": {"train.stages.sft.max_steps": 3, "train.stages.sft.save_every": 1},
        },
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep, sort_keys=False))
    return path


def test_a_sweep_dry_run_says_what_each_variant_shares(tmp_path):
    variants, folder = load_sweep(_sweep_file(tmp_path), tmp_path / "sweep")
    assert folder == (tmp_path / "sweep").resolve()
    plans = plan_sweep(variants)
    assert plans[0].shared == {}
    assert plans[1].shared == {stage: "short" for stage in SHARED}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"base": str(demo_recipe(True)), "variants": {"x": {"merge.alpha": "high"}}}))
    with pytest.raises(RecipeError, match=r"variants\.x: .*merge\.alpha"):
        load_sweep(bad)


@pytest.mark.slow
def test_a_sweep_shares_its_common_stages_and_writes_the_comparison(tmp_path):
    lines: list[str] = []
    variants, folder = load_sweep(_sweep_file(tmp_path), tmp_path / "sweep")
    report = run_sweep(variants, folder, log=lines.append)
    assert report.shared == {"short": {}, "long": {stage: "short" for stage in SHARED}}
    assert report.variants["long"].reused == SHARED
    assert report.variants["long"].ran == ["sft", "merge", "evaluate", "report"]
    assert "[long] reused data, annotate, model, align (finished by short)" in lines
    for stage in SHARED:  # the same outputs, taken over: same fingerprint, same records
        short, long = (json.loads((folder / v / stage / DONE).read_text()) for v in ("short", "long"))
        assert short["fingerprint"] == long["fingerprint"]
    taken, original = (folder / v / "align" / "train" / "model" / "model.safetensors" for v in ("long", "short"))
    assert taken.read_bytes() == original.read_bytes()
    steps = {v: json.loads((folder / v / "sft" / DONE).read_text())["summary"]["steps"] for v in ("short", "long")}
    assert steps == {"short": 2, "long": 3}

    compare = folder / "report"
    text = (compare / "report.md").read_text(encoding="utf-8")
    assert "`train.stages.sft.max_steps`" in text and "`train.stages.sft.save_every`" in text
    assert "## world-vqa" in text and "## world-text" in text and "win rates" in text
    numbers = json.loads((compare / "comparison.json").read_text())
    for bench in ("world-vqa", "world-text"):
        entry = numbers["academic"][bench]["unmerged"]
        assert set(entry) == {"short", "long"}
        for variant in ("short", "long"):
            low, high = entry[variant]["ci"]
            assert low <= entry[variant]["accuracy"] <= high
        assert (compare / f"{bench}.png").stat().st_size > 1000
        # Both variants answered the same held-out items: "long" is compared with "short" (no base-only variant
        # here, so the first) item by item.
        change = entry["long"]["vs_reference"]
        assert "vs_reference" not in entry["short"]
        assert change["n"] == entry["long"]["n"] == entry["short"]["n"]
        assert change["difference"] == pytest.approx(entry["long"]["accuracy"] - entry["short"]["accuracy"])
        assert change["ci"][0] <= change["difference"] <= change["ci"][1]
    assert numbers["reference"] == "short" and "Difference from short on the same items" in text
    assert (compare / "report.html").read_text(encoding="utf-8").count("data:image/png;base64") >= 2

    again: list[str] = []
    rerun = run_sweep(variants, folder, log=again.append)
    assert all(result.ran == [] for result in rerun.variants.values())
    record = json.loads((folder / "sweep.json").read_text())  # the rerun keeps what the first run took over
    assert record["shared"]["long"] == {stage: "short" for stage in SHARED}


def test_a_paired_difference_counts_what_changed_on_the_same_items_and_the_reference_is_the_base():
    from ayavision.recipe.compare import paired_difference, reference_variant

    reference = {f"q{i}": ("eng_Latn", i < 10) for i in range(40)}  # 10 of 40 right
    model = {f"q{i}": ("eng_Latn", 5 <= i < 25) for i in range(40)}  # lost q0-q4, gained q10-q24: 20 right
    change = paired_difference(model, reference)
    assert (change["n"], change["gained"], change["lost"]) == (40, 15, 5)
    assert change["difference"] == pytest.approx(0.25)
    assert 0 < change["ci"][0] < 0.25 < change["ci"][1]  # ten items more of forty: the interval excludes no change
    assert paired_difference(reference, reference)["ci"] == (0.0, 0.0)
    entries = [("a", None, Path("a"), [("x", 1)]), ("b", None, Path("b"), []), ("c", None, Path("c"), [("x", 2)])]
    assert reference_variant(entries) == "b"
    assert reference_variant(entries[:1] + entries[2:]) == "a"


@pytest.mark.slow
def test_a_killed_sweep_continues_where_it_stopped(tmp_path):
    from ayavision.train.trainer import CRASH_AFTER_STEP_ENV

    path = _sweep_file(tmp_path)
    folder = tmp_path / "sweep"
    command = [sys.executable, "-m", "ayavision.cli.main", "sweep", str(path), "--out", str(folder)]
    # The second variant's SFT dies after its step 3 (checkpointed at every step); the first has 2 steps, never 3.
    env = {**os.environ, CRASH_AFTER_STEP_ENV: "sft:3"}
    killed = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert killed.returncode == 137, killed.stdout[-2000:] + killed.stderr[-2000:]
    assert (folder / "short" / "report" / DONE).exists()
    assert (folder / "long" / "sft" / STAGE_RECORD).exists() and not (folder / "long" / "sft" / DONE).exists()
    finished = (folder / "short" / "sft" / DONE).stat().st_mtime_ns

    lines: list[str] = []
    variants, _ = load_sweep(path, folder)
    report = run_sweep(variants, folder, log=lines.append)
    assert report.variants["short"].ran == []
    assert report.variants["long"].ran == ["sft", "merge", "evaluate", "report"]
    assert any(line.startswith("[long] [sft] resume") for line in lines)
    assert (folder / "short" / "sft" / DONE).stat().st_mtime_ns == finished
    metrics = (folder / "long" / "sft" / "train" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in metrics] == [1, 2, 3]
