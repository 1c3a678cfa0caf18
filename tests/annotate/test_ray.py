"""The Ray executor on a local instance with two workers writes exactly what the local executor writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ayavision.annotate import RayExecutorConfig, TranslateConfig, run_step
from tests.annotate.helpers import make_dataset


@pytest.mark.slow
def test_ray_and_local_write_the_same_output(tmp_path: Path, spec, server, quiet):
    data = make_dataset(tmp_path / "in", 24)
    with open(data, "a", encoding="utf-8") as handle:  # a broken record must be failed the same way on both
        handle.write(json.dumps({"id": "broken", "messages": []}) + "\n")
    config = TranslateConfig(languages=["fr", "de", "ja"], languages_per_record=2, seed=1)
    local = run_step(config, data, tmp_path / "local", spec, options=quiet)
    local_requests = server.requests
    ray_run = run_step(
        config,
        data,
        tmp_path / "ray",
        spec,
        executor=RayExecutorConfig(workers=2, batch_size=4, records_in_flight=4),
        options=quiet,
    )
    assert (tmp_path / "ray/data.jsonl").read_bytes() == (tmp_path / "local/data.jsonl").read_bytes()
    assert (tmp_path / "ray/ledger.jsonl").read_bytes() == (tmp_path / "local/ledger.jsonl").read_bytes()
    assert ray_run.summary["kept"] == local.summary["kept"] == 24 and ray_run.summary["failed"] == 1
    assert server.requests - local_requests == ray_run.summary["requests"] > 0  # the workers did ask the server
    shards = list((tmp_path / "ray/cache").glob("*.jsonl"))
    assert len(shards) == 2  # one cache shard per worker
