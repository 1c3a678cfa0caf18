"""The answer-position probe reads the position that emits the answer, and finds what its features hold."""

from __future__ import annotations

import torch

from ayavision.data.io import read_records
from ayavision.world.answer_probe import NAMED_SLOT, _probe, answer_states, probe_answer_position


def test_a_probe_reads_a_label_its_features_hold_and_only_the_majority_from_constant_ones():
    labels = [["circle", "star", "heart"][i % 3] for i in range(60)]
    informative = torch.nn.functional.one_hot(torch.tensor([i % 3 for i in range(60)]), 3).float()
    accuracy, majority = _probe(informative + 0.01 * torch.randn(60, 3), labels)
    assert accuracy == 1.0 and majority < 0.5
    accuracy, majority = _probe(torch.ones(60, 3), labels)
    assert accuracy == majority


def test_answer_position_probe_scores_every_layer_of_a_composed_world_vlm(world_vlm, tmp_path):
    from ayavision.world import make_world_dataset

    make_world_dataset(tmp_path / "data", n=80, seed=3, tasks=["vqa"])
    records = [r for r in read_records(tmp_path / "data" / "data.jsonl") if r.meta["world"]["frame"] in NAMED_SLOT]
    composed = world_vlm
    scores = probe_answer_position(composed.model, composed.processor, records, tmp_path / "data", 8)
    assert scores and set(scores) <= set(NAMED_SLOT)
    layers = composed.model.config.get_text_config().num_hidden_layers + 1
    for per_layer in scores.values():
        assert len(per_layer) == layers
        assert all(0 <= value <= 1 for s in per_layer for value in vars(s).values())
        # Layer 0 is the embedding of the prompt's last token, the same for every question.
        assert per_layer[0].named == per_layer[0].named_majority
        assert per_layer[0].answer == per_layer[0].answer_majority
    # That token is the chat template's start of the answer, whose next token is the answer's first.
    states, metas = answer_states(composed.model, composed.processor, records[:3], tmp_path / "data")
    chatbot = composed.processor.tokenizer.convert_tokens_to_ids("<|CHATBOT_TOKEN|>")
    embedding = composed.model.get_input_embeddings().weight[chatbot]
    assert torch.allclose(states[:, 0], embedding.expand(3, -1)) and metas[0] == records[0].meta["world"]
