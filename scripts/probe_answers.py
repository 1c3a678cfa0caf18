"""Print, per layer, whether a VLM's answer position knows the object a world question names and its answer.

.venv/bin/python scripts/probe_answers.py VLM_FOLDER DATA_JSONL [QUESTIONS]   # default: 1,200 questions

DATA_JSONL is world data with image questions (`ayavision world data OUT --tasks vqa`); the probes use the first
QUESTIONS of it whose frame names an object (ayavision.world.answer_probe), three quarters to fit, a quarter to score.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from ayavision.data.io import read_records
from ayavision.model.store import load_pretrained
from ayavision.world.answer_probe import NAMED_SLOT, probe_answer_position


def main() -> None:
    folder, data = Path(sys.argv[1]), Path(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1200
    named = (r for r in read_records(data) if r.meta.get("world", {}).get("frame") in NAMED_SLOT)
    records = list(itertools.islice(named, count))
    model, processor = load_pretrained(folder)
    scores = probe_answer_position(model, processor, records, data.parent)
    print(f"VLM: {folder}; {len(records)} questions from {data}; held-out accuracy (majority answer)")
    print("| frame | layer | named object | answer |")
    print("|---|---|---|---|")
    for frame, layers in scores.items():
        for layer, s in enumerate(layers):
            named_cell = f"{s.named:.2f} ({s.named_majority:.2f})"
            print(f"| {frame} | {layer} | {named_cell} | {s.answer:.2f} ({s.answer_majority:.2f}) |")


if __name__ == "__main__":
    main()
