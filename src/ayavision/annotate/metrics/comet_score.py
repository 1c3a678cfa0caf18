"""Score (source, translation) pairs with COMET; run by ayavision's metrics in a separate environment.

Standalone on purpose: it is executed with the python of an environment that has ``unbabel-comet``
(which needs transformers < 5 and numpy < 2), where ayavision itself is not installed.

    python comet_score.py --model MODEL.ckpt --input pairs.jsonl --output scores.json [--batch-size 16] [--gpus 0]

Input lines are ``{"src": ..., "mt": ...}`` (and ``"ref"`` for reference-based models); the output is
``{"scores": [...], "system_score": float}``.
"""

import argparse
import json
import os
import sys

# Run as a script, this file's folder comes first on sys.path, and its sibling modules must not shadow
# the packages of the COMET environment.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--gpus", type=int, default=0)
    args = parser.parse_args()
    from comet import load_from_checkpoint

    with open(args.input, encoding="utf-8") as handle:
        data = [json.loads(line) for line in handle if line.strip()]
    model = load_from_checkpoint(args.model)
    result = model.predict(data, batch_size=args.batch_size, gpus=args.gpus, progress_bar=False)
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump({"scores": [float(s) for s in result.scores], "system_score": float(result.system_score)}, handle)


if __name__ == "__main__":
    main()
