"""Scenes and images: reproducible from a seed, any size, the scene graph carried in the PNG, edits recoverable."""

from __future__ import annotations

import io

from PIL import Image

from ayavision.world.render import encode_png, object_box, read_scene, render_scene
from ayavision.world.scene import SceneConfig, difference_of, edit_scene, sample_scene, seeded_rng
from ayavision.world.vocab import CELLS, RGB


def test_same_seed_same_scene_and_same_png_bytes():
    a = sample_scene(seeded_rng(3, "x"), "s", with_text=True)
    b = sample_scene(seeded_rng(3, "x"), "s", with_text=True)
    assert a == b
    assert encode_png(a) == encode_png(b)
    assert sample_scene(seeded_rng(4, "x"), "s") != a


def test_renders_at_any_size_and_aspect_ratio():
    scene = sample_scene(seeded_rng(1), "s")
    for size in ((64, 64), (300, 100), (90, 270)):
        assert render_scene(scene, size).size == size


def test_png_carries_its_scene_graph_and_other_images_carry_none():
    scene = sample_scene(seeded_rng(2), "s", with_text=True)
    data = encode_png(scene)
    assert read_scene(data) == scene
    assert read_scene(Image.open(io.BytesIO(data))) == scene
    plain = io.BytesIO()
    Image.new("RGB", (8, 8)).save(plain, format="PNG")
    assert read_scene(plain.getvalue()) is None
    assert read_scene(b"not an image") is None


def test_objects_are_drawn_in_their_colour_inside_their_cell():
    for index in range(10):
        scene = sample_scene(seeded_rng(5, index), "s", SceneConfig(sizes=((240, 180),)))
        image = render_scene(scene)
        for obj in scene.objects:
            cx, cy, _ = object_box(obj, *image.size)
            row, col = CELLS[obj.position]
            assert col * 80 <= cx < (col + 1) * 80 and row * 60 <= cy < (row + 1) * 60
            # The centre pixel of every shape but the star's thin middle... all shapes cover their centre.
            pixel = image.getpixel((int(cx), int(cy)))
            assert max(abs(p - q) for p, q in zip(pixel, RGB[obj.colour], strict=True)) < 40, (obj, pixel)


def test_objects_take_distinct_cells_and_counts_stay_in_range():
    config = SceneConfig(min_objects=2, max_objects=6)
    for index in range(50):
        scene = sample_scene(seeded_rng(9, index), "s", config)
        positions = [o.position for o in scene.objects]
        assert len(set(positions)) == len(positions)
        assert 2 <= len(scene.objects) <= 6


def test_an_edit_is_one_change_that_difference_of_recovers():
    kinds = set()
    for index in range(60):
        rng = seeded_rng(11, index)
        scene = sample_scene(rng, "a")
        edited = edit_scene(rng, scene, "b")
        if edited is None:
            continue
        second, change = edited
        kinds.add(change.kind)
        assert difference_of(scene, second) == change
    assert kinds == {"colour", "added", "removed", "moved"}
