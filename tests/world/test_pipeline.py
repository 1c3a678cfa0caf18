"""The annotation pipeline runs on the world with the demo backends, and its effects are measured against truth."""

from __future__ import annotations

import pytest
import yaml

from ayavision.annotate import load_pipeline, run_pipeline
from ayavision.data import read_records
from ayavision.world import filter_quality, make_world_dataset, translation_quality


@pytest.mark.parametrize("questions", [1, 3])
def test_recaption_filter_translate_rephrase_on_the_world(tmp_path, world_dataset, questions):
    if questions > 1:  # multi-turn records: every turn recaptioned, a record dropped when any turn is corrupted
        world_dataset = tmp_path / "multi-turn"
        make_world_dataset(world_dataset, n=24, seed=7, tasks=["vqa", "counting"], questions=questions)
    config = {
        "input": str(world_dataset / "data.jsonl"),
        "out": str(tmp_path / "annotate"),
        "plugins": ["ayavision.world"],
        "backends": {
            "teacher": {"kind": "world-teacher", "hallucination_rate": 0.25, "seed": 2},
            "judge": {"kind": "world-judge"},
            "mt": {"kind": "world-translator"},
            "rephraser": {"kind": "world-rephraser"},
        },
        "steps": [
            {"step": "recaption", "backend": "teacher"},
            {"step": "filter", "backend": "judge"},
            {"step": "translate", "backend": "mt", "languages_per_record": 2},
            {"step": "rephrase", "backend": "rephraser"},
            {"step": "metrics"},
        ],
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_pipeline(load_pipeline(path), progress=False)
    assert all(step.summary["failed"] == 0 for step in result.steps.values())

    quality = filter_quality(tmp_path / "annotate/recaption/data.jsonl", tmp_path / "annotate/filter/data.jsonl")
    assert quality["corrupted"] > 0
    assert quality["precision"] == 1.0 and quality["recall"] == 1.0

    kept = list(read_records(tmp_path / "annotate/filter/data.jsonl"))
    rephrased = list(read_records(tmp_path / "annotate/rephrase/data.jsonl"))
    assert len(rephrased) == 2 * len(kept)
    chrf = translation_quality(rephrased)
    assert chrf["chrf_mt"] < 60 < chrf["chrf_rephrased"]

    metrics = result.metrics["metrics"]
    text = str(metrics)
    assert "recaption" in text
