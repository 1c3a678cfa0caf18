"""Print linear-probe accuracy of a world encoder's patch states per property and layer (world.pretrain.probe).

.venv/bin/python scripts/probe_encoder.py [ENCODER_FOLDER]   # default: the shipped encoder
"""

from __future__ import annotations

import sys
from pathlib import Path

from transformers import SiglipVisionModel

from ayavision.world.pretrain.probe import TARGETS, probe_encoder
from ayavision.world.pretrain.shipped import SHIPPED_PARTS


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED_PARTS / "encoder"
    scores = probe_encoder(SiglipVisionModel.from_pretrained(folder))
    layers = len(scores["shape"]["mean"])
    print(f"encoder: {folder}; probes trained on 600 scenes, scored on 200 others")
    print("| property | chance | features | " + " | ".join(f"layer {i}" for i in range(layers)) + " |")
    print("|---|---|---|" + "---|" * layers)
    for name, values in TARGETS.items():
        for kind, per_layer in scores[name].items():
            print(f"| {name} | {1 / len(values):.2f} | {kind} | " + " | ".join(f"{s:.2f}" for s in per_layer) + " |")


if __name__ == "__main__":
    main()
