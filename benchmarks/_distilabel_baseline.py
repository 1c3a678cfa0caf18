"""distilabel's side of benchmarks/annotate_throughput.py; runs in distilabel's own environment.

    python _distilabel_baseline.py URL MODEL REQUESTS CONCURRENCY MAX_TOKENS   # prints one JSON line

distilabel has no concurrency cap: a TextGeneration task sends its whole input batch at once, so the
batch size is what bounds requests in flight; it is set to the same concurrency as ours.
"""

import json
import sys
import tempfile
import time


def main() -> None:
    url, model, requests, concurrency, max_tokens = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    from distilabel.models import OpenAILLM
    from distilabel.pipeline import Pipeline
    from distilabel.steps import LoadDataFromDicts
    from distilabel.steps.tasks import TextGeneration

    rows = [{"instruction": f"Describe item {i} in detail."} for i in range(requests)]
    with tempfile.TemporaryDirectory() as cache, Pipeline(name="throughput", cache_dir=cache) as pipeline:
        load = LoadDataFromDicts(data=rows, batch_size=concurrency)
        llm = OpenAILLM(model=model, base_url=url, api_key="unused", generation_kwargs={"max_new_tokens": max_tokens})
        generate = TextGeneration(llm=llm, input_batch_size=concurrency)
        load >> generate
        start = time.perf_counter()
        distiset = pipeline.run(use_cache=False)
        elapsed = time.perf_counter() - start
    outputs = sum(len(split) for split in distiset["default"].values())
    answered = sum(1 for split in distiset["default"].values() for row in split if row.get("generation"))
    print(json.dumps({"elapsed": elapsed, "outputs": outputs, "answered": answered}))


if __name__ == "__main__":
    main()
