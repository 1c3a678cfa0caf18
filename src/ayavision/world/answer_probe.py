"""Linear probes on a VLM's answer position: does each layer know what a world question asks, and its answer?

A VLM answering "What colour is the star?" must bring two things to the position that emits the answer: which
object the question names (from the question's words) and that object's property (from the image tokens). The
probe reads the residual stream at the last prompt position (the one whose next token is the answer's first) at
every layer of the language model, and fits one softmax probe per question frame for the named object (the
question's slot) and one for the true answer, each scored on held-out questions against the majority answer.
Where the named object is decodable and the answer is not, the VLM reads its question but not the image.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from ayavision.data.record import ConversationRecord
from ayavision.model.generate import open_images, prompt_inputs
from ayavision.world.pretrain.probe import probe_accuracy

# The slot naming the object a frame asks about: a shape, or for "which shape is <colour>?" a colour.
NAMED_SLOT = {"ask_colour": "a", "ask_size": "a", "ask_where": "a", "ask_exists": "a", "ask_shape_by_colour": "c"}


@dataclass(frozen=True)
class LayerScores:
    """Held-out accuracy of the probes at one layer (0: the token embeddings), and the majority baselines."""

    named: float
    named_majority: float
    answer: float
    answer_majority: float


@torch.inference_mode()
def answer_states(
    model, processor, records: Iterable[ConversationRecord], root: Path
) -> tuple[torch.Tensor, list[dict]]:
    """Hidden states [records, layers + 1, hidden] at each prompt's last position, and the records' world metadata."""
    states, metas = [], []
    for record in records:
        images = open_images([root / path for path in record.image_paths()])
        inputs = prompt_inputs(processor, images, record.user_prompt_text())
        hidden = model(**inputs, output_hidden_states=True).hidden_states
        states.append(torch.stack([layer[0, -1] for layer in hidden]))
        metas.append(record.meta["world"])
    return torch.stack(states), metas


def _probe(features: torch.Tensor, labels: list[str]) -> tuple[float, float]:
    """(held-out accuracy, majority baseline) of a probe trained on the first three quarters."""
    classes = sorted(set(labels))
    y = torch.tensor([classes.index(label) for label in labels])
    cut = len(labels) * 3 // 4
    test = y[cut:]
    majority = torch.bincount(y[:cut], minlength=len(classes)).argmax()
    accuracy = probe_accuracy(features[:cut], y[:cut], features[cut:], test, len(classes))
    return accuracy, (test == majority).float().mean().item()


def probe_answer_position(
    model, processor, records: Iterable[ConversationRecord], root: str | Path, min_questions: int = 40
) -> dict[str, list[LayerScores]]:
    """Per question frame (those naming an object, with at least ``min_questions`` questions), scores per layer."""
    states, metas = answer_states(model, processor, records, Path(root))
    out: dict[str, list[LayerScores]] = {}
    for frame, slot in NAMED_SLOT.items():
        rows = [i for i, meta in enumerate(metas) if meta["frame"] == frame]
        if len(rows) < min_questions:
            continue
        named = [str(metas[i]["slots"][slot]) for i in rows]
        answer = [str(metas[i]["answer"]) for i in rows]
        scores = []
        for layer in range(states.shape[1]):
            features = states[rows, layer]
            scores.append(LayerScores(*_probe(features, named), *_probe(features, answer)))
        out[frame] = scores
    return out
