"""The lookup-learnability toy: its questions, the tokens it builds from an image, its probe and its training loop."""

from __future__ import annotations

import torch
from transformers import Cohere2Config

from ayavision.world.pretrain.dense import ATTRIBUTES
from ayavision.world.pretrain.learnability import (
    CODE,
    FRAMES,
    apply_probe,
    code_share,
    code_share_by_attribute,
    fit_probe,
    image_tokens,
    lookup_questions,
    patch_features,
    shrink_directions,
    train_toy,
    truth_codes,
    views,
)
from ayavision.world.pretrain.views import view_objects_per_patch

QUESTIONS = lookup_questions(60, 11)


def test_questions_are_named_object_ones_with_their_true_answer():
    assert QUESTIONS and {q.frame for q in QUESTIONS} <= set(FRAMES)
    assert len({q.frame for q in QUESTIONS}) >= 4
    for q in QUESTIONS:
        assert q.named and q.answer
        if q.frame == "ask_colour":
            assert q.answer == next(o.colour for o in q.scene.objects if o.shape == q.named)


def test_truth_codes_give_each_patch_its_owners_attributes_and_the_background_nothing():
    q = next(q for q in QUESTIONS if len(q.scene.objects) >= 2)
    for view in views(q.scene):
        owner = view_objects_per_patch(q.scene, view, 96, 8, 0.1)
        codes = truth_codes(q.scene, view)
        assert codes.shape == (144, CODE)
        assert not codes[owner == 0].any()
        for i, obj in enumerate(q.scene.objects):
            mine = codes[owner == i + 1]
            offset = 0
            for name, values in ATTRIBUTES.items():
                assert (mine[:, offset + values.index(getattr(obj, name))] == 1).all()
                assert mine[:, offset : offset + len(values)].sum(1).eq(1).all()
                offset += len(values)


def test_tokens_group_patches_as_the_pixel_shuffle_and_pooling_averages_the_four():
    features = patch_features(QUESTIONS[:1], "truth", None)[0]
    concat, pooled = image_tokens(features, False), image_tokens(features, True)
    assert concat.shape == (len(features) * 36, 4 * CODE) and pooled.shape == (len(features) * 36, CODE)
    assert torch.allclose(pooled, concat.reshape(-1, 4, CODE).mean(1))
    grid = features[0].reshape(12, 12, CODE)  # the first token of the first view: patches (0,0) (0,1) (1,0) (1,1)
    first = concat[0].reshape(4, CODE)
    assert {tuple(p.tolist()) for p in first} == {tuple(grid[r, c].tolist()) for r in (0, 1) for c in (0, 1)}


def test_the_probe_recovers_a_linear_code_from_states_that_hold_it():
    truth = [torch.rand(3, 144, CODE).round() for _ in range(4)]
    mix = torch.randn(CODE, 40)
    states = [t @ mix + 0.01 * torch.randn(3, 144, 40) for t in truth]
    weight = fit_probe(states, truth)
    assert torch.allclose(apply_probe(states[0], weight), truth[0], atol=0.05)
    shuffled = [s[..., torch.randperm(40)] for s in states]  # states that no longer line up with the codes
    assert not torch.allclose(apply_probe(shuffled[0], weight), truth[0], atol=0.05)


def test_code_share_is_the_variance_a_linear_function_of_the_code_explains():
    truth = [torch.rand(3, 144, CODE).round() for _ in range(4)]
    mix = torch.randn(CODE, 40)
    coded = [t @ mix for t in truth]
    noise = [torch.randn(3, 144, 40) for _ in truth]
    assert code_share(coded, truth) > 0.99
    assert code_share(noise, truth) < 0.05
    spread = [torch.cat([x.reshape(-1, 40) for x in xs]).var(0).sum().sqrt() for xs in (coded, noise)]
    half = [c / spread[0] + n / spread[1] for c, n in zip(coded, noise, strict=True)]  # as much variance from each
    assert 0.4 < code_share(half, truth) < 0.6
    # States that vary with the shape alone: the whole code explains them, the shape's columns are what it takes.
    by_shape = [t[..., : len(ATTRIBUTES["shape"])] @ mix[: len(ATTRIBUTES["shape"])] for t in truth]
    shares = code_share_by_attribute(by_shape, truth)
    assert shares["code"] > 0.99 and shares["shape"] > 0.9
    assert shares["colour"] < 0.01 and shares["size"] < 0.01


def test_shrinking_directions_scales_only_the_states_part_along_them():
    directions = 0.3 * torch.linalg.qr(torch.randn(8, 3))[0].T  # 3 orthogonal rows, not of unit length
    inside, outside = torch.randn(5, 3) @ directions, torch.randn(5, 8)
    outside = outside - outside @ directions.T @ directions / 0.09  # nothing along the rows
    assert torch.allclose(shrink_directions(inside + outside, directions, 0.0), outside, atol=1e-5)
    assert torch.allclose(shrink_directions(inside + outside, directions, 0.2), 0.2 * inside + outside, atol=1e-5)


def test_the_toy_learns_a_small_training_set_it_is_scored_on():
    few = QUESTIONS[:16]
    items = [(image_tokens(f, True), q) for f, q in zip(patch_features(few, "truth", None), few, strict=True)]
    config = Cohere2Config(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=1,
        num_key_value_heads=1,
        head_dim=32,
        layer_types=["sliding_attention"],
    )
    result = train_toy(items, items, config, steps=60, batch=len(items), lr=1e-2, every=30)
    assert result.steps == [30, 60]
    assert result.accuracy[-1] >= 0.9, result.per_kind
    assert set(result.per_kind[-1]) == {q.frame for q in few}
