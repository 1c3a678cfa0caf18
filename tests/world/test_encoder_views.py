"""What the world's SigLIP learns from: views as the processor cuts them, their captions, twins, and region targets."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from ayavision.world.pretrain.dense import (
    ATTRIBUTES,
    CODE,
    CodeFit,
    RegionHeads,
    block_mean,
    patch_codes,
    region_targets,
)
from ayavision.world.pretrain.probe import shuffled_tokens
from ayavision.world.pretrain.views import (
    View,
    random_view,
    twin,
    view_caption,
    view_objects_per_patch,
    view_pixels,
    visible_objects,
)
from ayavision.world.render import object_box
from ayavision.world.scene import SceneConfig, sample_scene, seeded_rng
from ayavision.world.vocab import BACKGROUND_COLOURS, RGB

SCENES = [sample_scene(seeded_rng(5, "views", i), f"v{i}", SceneConfig()) for i in range(60)]


def _views(scene):
    rng = random.Random(scene.id)
    return [View(), random_view(rng, scene, 64, 4, 1.0)]


def test_a_tile_view_is_the_tile_the_processor_cuts():
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil

    from ayavision.world.render import render_scene

    processor = GotOcr2ImageProcessorPil(
        size={"height": 64, "width": 64}, crop_to_patches=True, min_patches=1, max_patches=4, do_normalize=False
    )
    scene = next(s for s in SCENES if (s.width, s.height) == (256, 256))
    tiles = processor(render_scene(scene.model_copy(update={"width": 128, "height": 128})), return_tensors="np")
    assert tiles["pixel_values"].shape[0] == 5  # a 2 x 2 grid and the thumbnail
    for index in range(4):
        ours = view_pixels(scene, View(2, 2, index), 64).astype(np.float32)
        theirs = tiles["pixel_values"][index].transpose(1, 2, 0) * 255
        assert np.abs(ours - theirs).mean() < 4  # the same crop (resampling differs in the last bits)


def test_a_caption_names_every_object_whose_box_lies_in_the_view_with_its_place_there():
    for scene in SCENES:
        for view in _views(scene):
            x0, y0, x1, y1 = view.box(scene.width, scene.height)
            shown = {o for o, _ in visible_objects(scene, view)}
            caption = view_caption(scene, view)
            for obj in scene.objects:
                cx, cy, r = object_box(obj, scene.width, scene.height)
                inside = x0 <= cx - r and cx + r <= x1 and y0 <= cy - r and cy + r <= y1
                if inside:
                    assert obj in shown and f"{obj.size} {obj.colour} {obj.shape} at" in caption
            assert caption.endswith(f"{scene.background} {scene.pattern} background") or "the word" in caption


def test_a_twin_differs_from_its_view_in_one_property_only():
    kinds = set()
    for i, scene in enumerate(SCENES):
        for view in _views(scene):
            other = twin(seeded_rng(1, i, view.tile), scene, view)
            assert view_caption(other, view) != view_caption(scene, view)
            before = {o.position: o for o in scene.objects}
            after = {o.position: o for o in other.objects}
            assert before.keys() == after.keys()
            changed = [p for p in before if before[p] != after[p]]
            if not changed:
                assert other.background != scene.background
                kinds.add("background")
                continue
            fields = {
                f for p in changed for f in ("shape", "size", "colour") if getattr(before[p], f) != getattr(after[p], f)
            }
            assert len(fields) == 1
            if fields == {"colour"}:  # two objects swapped their colours
                assert len(changed) == 2 and sorted(before[p].colour for p in changed) == sorted(
                    after[p].colour for p in changed
                )
            else:
                assert len(changed) == 1
            kinds |= fields
    assert kinds >= {"shape", "size", "colour"}


def test_patch_owners_lie_on_their_objects_pixels():
    checked = 0
    for scene in SCENES:
        view = View()
        owners = view_objects_per_patch(scene, view, 64, 8).reshape(8, 8)
        pixels = view_pixels(scene, view, 64).astype(np.int32)
        for index, obj in enumerate(scene.objects):
            cells = np.argwhere(owners == index + 1)
            for r, c in cells:
                patch = pixels[r * 8 : (r + 1) * 8, c * 8 : (c + 1) * 8].reshape(-1, 3)
                closest = np.abs(patch - np.array(RGB[obj.colour])).sum(1).min()
                assert closest < 60, f"{scene.id}: patch ({r}, {c}) has no pixel of the {obj.colour} {obj.shape}"
                checked += 1
    assert checked > 60


def _one_hot_regions() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(owners, values, states) of 8 scenes' thumbnails, where each patch's state is the one-hot attributes of the
    object that owns it, and a last feature marks background patches: states any linear head can read."""
    targets = [region_targets(s, View(), 64, 8) for s in SCENES[:8]]
    owners = torch.from_numpy(np.stack([t[0] for t in targets])).long()
    values = torch.from_numpy(np.stack([t[1] for t in targets])).long()
    codes = [
        torch.nn.functional.one_hot(values[..., a].clamp(min=0), len(v)) for a, v in enumerate(ATTRIBUTES.values())
    ]
    per_object = torch.cat(codes, dim=-1).float()  # scenes x objects x 18
    index = (owners - 1).clamp(min=0)[..., None].expand(-1, -1, per_object.shape[-1])
    states = torch.cat([torch.gather(per_object, 1, index) * (owners > 0)[..., None], (owners == 0)[..., None]], -1)
    return owners, values, states


def _fit(heads: RegionHeads, owners: torch.Tensor, values: torch.Tensor, states: torch.Tensor) -> None:
    """Train the heads on the states; the loss must fall to a quarter and every attribute be read right."""
    optimizer = torch.optim.Adam(heads.parameters(), lr=0.05)
    first = heads.loss(states, owners, values).item()
    for _ in range(150):
        optimizer.zero_grad()
        loss = heads.loss(states, owners, values)
        loss.backward()
        optimizer.step()
    assert loss.item() < first / 4
    assert all(score == 1.0 for score in heads.accuracy(states, owners, values).values())


def test_region_heads_pool_each_shown_object_once_and_learn_its_attributes():
    owners, values, states = _one_hot_regions()
    shown = sum(len(set(row.tolist()) - {0}) for row in owners)
    heads = RegionHeads(states.shape[-1])
    pooled, labels = heads.regions(states, owners, values)
    assert pooled.shape == (shown, states.shape[-1]) and labels.shape == (shown, len(ATTRIBUTES))
    assert (labels >= 0).all()
    _fit(heads, owners, values, states)


def test_per_patch_region_heads_read_every_patch_under_an_object_and_tell_background():
    owners, values, states = _one_hot_regions()
    heads = RegionHeads(states.shape[-1], per_patch=True)
    read, labels = heads.regions(states, owners, values)
    owned = owners > 0
    assert read.shape == (int(owned.sum()), states.shape[-1]) and (labels >= 0).all()
    # Each patch is labelled with the attributes of the object that owns it.
    scene, patch = map(int, owned.nonzero()[0])
    assert labels[0].tolist() == values[scene, owners[scene, patch] - 1].tolist()
    _fit(heads, owners, values, states)
    assert (heads.objectness(states).argmax(-1) == owned.long()).all()


def test_patch_codes_are_each_owners_one_hot_attributes_and_objectness():
    owners, values, states = _one_hot_regions()
    codes = patch_codes(owners, values)
    assert torch.equal(codes[..., :-1], states[..., :-1])
    assert torch.equal(codes[..., -1], (owners > 0).float())


def _fit_code(
    states: torch.Tensor, owners: torch.Tensor, values: torch.Tensor, form: str = "share", **options: str
) -> float:
    """The loss the code fit reaches on these states (the same 8 scenes, every background 0)."""
    torch.manual_seed(0)
    fit = CodeFit(states.shape[-1], form, **options)
    backgrounds = torch.zeros(len(owners), dtype=torch.long)
    optimizer = torch.optim.Adam(fit.parameters(), lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        loss = fit.loss(states, owners, values, backgrounds)
        loss.backward()
        optimizer.step()
    return loss.item()


def test_the_code_fit_explains_states_made_from_the_code_and_not_unrelated_ones():
    owners, values, _ = _one_hot_regions()
    generator = torch.Generator().manual_seed(1)
    mixing = torch.randn(patch_codes(owners, values).shape[-1], 32, generator=generator)
    made = patch_codes(owners, values) @ mixing + 0.05 * torch.randn(*owners.shape, 32, generator=generator)
    assert _fit_code(made, owners, values) < 0.02
    # The same states with their patches shuffled across the scenes: the code no longer says what they are.
    shuffled = made.reshape(-1, 32)[torch.randperm(owners.numel(), generator=generator)].reshape(made.shape)
    assert _fit_code(shuffled, owners, values) > 0.6


def test_the_balanced_code_fit_asks_every_attribute_for_an_equal_share_of_the_state():
    owners, values, _ = _one_hot_regions()
    code = patch_codes(owners, values)
    generator = torch.Generator().manual_seed(2)
    directions = torch.nn.functional.normalize(torch.randn(code.shape[-1], 64, generator=generator), dim=-1)
    even = code @ directions
    loud = code @ (directions * torch.tensor([8.0] * len(ATTRIBUTES["shape"]) + [1.0] * (code.shape[-1] - 6))[:, None])
    # A free map explains both alike; the balanced one finds the state whose shape drowns the rest much further off.
    assert _fit_code(even, owners, values) < 0.02 and _fit_code(loud, owners, values) < 0.02
    assert _fit_code(loud, owners, values, "balanced") > 1.3 * _fit_code(even, owners, values, "balanced")


def test_the_fixed_code_fit_is_met_only_by_states_that_hold_every_attribute_in_its_own_direction():
    owners, values, _ = _one_hot_regions()
    code = patch_codes(owners, values)
    full = torch.cat([code, torch.ones(*owners.shape, 1), torch.zeros(*owners.shape, 2)], -1)  # + background 0
    directions = CodeFit(64, "fixed").directions
    generator = torch.Generator().manual_seed(3)
    noise = 0.02 * torch.randn(*owners.shape, 64, generator=generator)
    assert _fit_code(3.0 * full @ directions + 1.0 + noise, owners, values, "fixed") < 0.02
    # A state that says only "an object is here" and one that holds the code along other directions: both far off,
    # though a free map explains the second as well as the first.
    objectness = full.clone()
    objectness[..., : code.shape[-1] - 1] = 0
    assert _fit_code(3.0 * objectness @ directions + noise, owners, values, "fixed") > 0.5
    mixed = 3.0 * full @ torch.linalg.qr(torch.randn(64, full.shape[-1], generator=generator))[0].T + noise
    assert _fit_code(mixed, owners, values) < 0.02
    assert _fit_code(mixed, owners, values, "fixed") > 0.5


def test_the_fixed_code_fit_can_make_the_background_a_small_part_of_the_state():
    directions = CodeFit(64, "fixed", background=0.2).directions
    gram = directions @ directions.T
    assert torch.allclose(gram, torch.diag(torch.diag(gram)), atol=1e-5)  # still orthogonal
    assert torch.allclose(gram.diag()[:CODE], torch.ones(CODE), atol=1e-5)
    assert torch.allclose(gram.diag()[CODE:], torch.full((len(BACKGROUND_COLOURS),), 0.04), atol=1e-5)


def test_block_mean_gives_the_four_patches_of_one_image_token_the_same_state():
    patches = torch.randn(2, 64, 5, generator=torch.Generator().manual_seed(4))
    blocked = block_mean(patches)
    slots = torch.stack([shuffled_tokens(view.reshape(8, 8, 5)).reshape(16, 4, 5) for view in blocked])
    assert torch.allclose(slots, slots[:, :, :1].expand_as(slots))  # one state in every slot of a token
    original = torch.stack([shuffled_tokens(view.reshape(8, 8, 5)).reshape(16, 4, 5) for view in patches])
    assert torch.allclose(slots[:, :, 0], original.mean(2), atol=1e-6)
    assert not torch.allclose(blocked, patches)


def test_the_fixed_code_fit_can_give_the_background_only_to_patches_no_object_owns():
    owners, values, _ = _one_hot_regions()
    backgrounds = torch.arange(len(owners)) % len(BACKGROUND_COLOURS)
    everywhere = CodeFit(64, "fixed").codes(owners, values, backgrounds)
    only_background = CodeFit(64, "fixed", background_on="background").codes(owners, values, backgrounds)
    assert (everywhere[..., CODE:].sum(-1) == 1).all()
    assert torch.equal(only_background[..., CODE:].sum(-1), (owners == 0).float())
    assert torch.equal(only_background[..., :CODE], everywhere[..., :CODE])


def test_the_block_code_fit_is_met_by_states_alike_within_each_image_token():
    owners, values, _ = _one_hot_regions()
    fit = CodeFit(64, "fixed")
    per_patch = fit.codes(owners, values, torch.zeros(len(owners), dtype=torch.long))
    noise = 0.02 * torch.randn(*owners.shape, 64, generator=torch.Generator().manual_seed(5))
    alike = 3.0 * block_mean(per_patch) @ fit.directions + noise
    own = 3.0 * per_patch @ fit.directions + noise
    assert _fit_code(alike, owners, values, "fixed", target="block") < 0.02
    assert _fit_code(own, owners, values, "fixed", target="block") > 0.1
    assert _fit_code(own, owners, values, "fixed") < 0.02


@pytest.mark.slow
def test_the_encoder_records_what_it_sees(world_tokenizer, tmp_path):
    from ayavision.world.pretrain import pretrain_encoder

    summary = pretrain_encoder(
        tmp_path / "encoder", world_tokenizer, steps=4, batch_size=8, pool=32, eval_size=16, code_weight=1.0
    )
    assert 0 < summary["code_unexplained"] < 2
    assert 0 <= summary["twin_accuracy"] <= 1
    assert set(summary["dense_accuracy"]) == {"thumbnail", "tile"}
    assert set(summary["dense_accuracy"]["tile"]) == set(ATTRIBUTES)
