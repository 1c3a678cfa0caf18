"""What the tiny SigLIP learns from: scenes as the VLM's processor shows them (the thumbnail, or one tile of the
tiling) captioned with what that view shows, and twins that differ from a view in one object (hard negatives).

Why both. Trained on thumbnails alone with random captions in a batch, the encoder told scenes apart by colours,
sizes and places and never learnt shapes (a linear probe read shapes at chance: docs/demo/README.md): nothing in
its loss needed them. A twin whose caption differs from its original only in one shape, one size or which object
has which colour is a negative that only those properties separate (hard negatives, as in NegCLIP); and the VLM
reads mostly tiles, where objects are larger and cut by tile borders, which a thumbnail-only encoder never saw.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from PIL import Image
from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import get_optimal_tiled_canvas

from ayavision.world.render import object_box, render_mask, render_scene
from ayavision.world.scene import Obj, Scene
from ayavision.world.vocab import BACKGROUND_COLOURS, CELLS, POSITION_OF_CELL, SHAPES, SIZES

_POSITION_WORDS = {
    "top_left": "top left",
    "top": "top centre",
    "top_right": "top right",
    "left": "centre left",
    "centre": "centre",
    "right": "centre right",
    "bottom_left": "bottom left",
    "bottom": "bottom centre",
    "bottom_right": "bottom right",
}


@dataclass(frozen=True)
class View:
    """Which part of a scene an image shows: the whole scene (``tile`` None) or tile ``tile`` of a cols x rows grid."""

    cols: int = 1
    rows: int = 1
    tile: int | None = None

    def box(self, width: int, height: int) -> tuple[float, float, float, float]:
        """The part of a width x height scene this view shows, in scene pixels (x0, y0, x1, y1)."""
        if self.tile is None:
            return 0.0, 0.0, float(width), float(height)
        r, c = divmod(self.tile, self.cols)
        w, h = width / self.cols, height / self.rows
        return c * w, r * h, (c + 1) * w, (r + 1) * h


def visible_objects(scene: Scene, view: View, share: float = 0.3) -> list[tuple[Obj, str]]:
    """The objects the view shows at least ``share`` of (by bounding box), each with the place (a 3 x 3 cell) of
    its visible part within the view: a tile cuts the objects of the middle row and column."""
    if view.tile is None:
        return [(o, o.position) for o in scene.objects]
    x0, y0, x1, y1 = view.box(scene.width, scene.height)
    found = []
    for obj in scene.objects:
        cx, cy, r = object_box(obj, scene.width, scene.height)
        left, top, right, bottom = max(x0, cx - r), max(y0, cy - r), min(x1, cx + r), min(y1, cy + r)
        if right <= left or bottom <= top or (right - left) * (bottom - top) < share * (2 * r) ** 2:
            continue
        mx, my = (left + right) / 2, (top + bottom) / 2
        cell = (min(2, int(3 * (my - y0) / (y1 - y0))), min(2, int(3 * (mx - x0) / (x1 - x0))))
        found.append((obj, POSITION_OF_CELL[cell]))
    return found


def view_caption(scene: Scene, view: View) -> str:
    """A caption naming everything the view shows: each object's size, colour, shape and place, the background."""
    objects = sorted(visible_objects(scene, view), key=lambda item: CELLS[item[1]])
    parts = [f"{o.size} {o.colour} {o.shape} at {_POSITION_WORDS[place]}" for o, place in objects]
    text = (", ".join(parts) or "no shape") + f"; {scene.background} {scene.pattern} background"
    if scene.text is not None and view.tile is None:
        text += f"; the word {scene.text.text}"
    return text


def encoder_caption(scene: Scene) -> str:
    """The caption of the whole scene (the thumbnail's)."""
    return view_caption(scene, View())


def view_pixels(scene: Scene, view: View, size: int) -> np.ndarray:
    """The view as the processor makes it: the scene resized (bicubic) to cols x rows tiles of size px, one cut out;
    the thumbnail squeezes the whole scene to size x size."""
    image = render_scene(scene, (max(size, scene.width // 2), max(size, scene.height // 2)))
    if view.tile is None:
        return np.asarray(image.resize((size, size), Image.Resampling.BICUBIC), dtype=np.uint8)
    canvas = image.resize((view.cols * size, view.rows * size), Image.Resampling.BICUBIC)
    r, c = divmod(view.tile, view.cols)
    return np.asarray(canvas.crop((c * size, r * size, (c + 1) * size, (r + 1) * size)), dtype=np.uint8)


def view_objects_per_patch(scene: Scene, view: View, size: int, patch: int, cover: float = 0.25) -> np.ndarray:
    """For each patch of the view (row-major), the object covering at least ``cover`` of it: i + 1 for
    ``scene.objects[i]``, 0 for none. What a dense objective asks each patch's features to tell."""
    mask = render_mask(scene)
    x0, y0, x1, y1 = view.box(scene.width, scene.height)
    if view.tile is not None:
        mask = mask.crop((round(x0), round(y0), round(x1), round(y1)))
    pixels = np.asarray(mask.resize((size, size), Image.Resampling.NEAREST))
    side = size // patch
    blocks = pixels[: side * patch, : side * patch].reshape(side, patch, side, patch).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(side * side, patch * patch)
    counts = np.stack([(blocks == k).sum(1) for k in range(len(scene.objects) + 1)], axis=1)
    counts[:, 0] = 0
    best = counts.argmax(1)
    return np.where(counts.max(1) >= cover * patch * patch, best, 0).astype(np.uint8)


def random_view(rng: random.Random, scene: Scene, size: int, max_tiles: int, tile_share: float) -> View:
    """The thumbnail, or with probability ``tile_share`` one tile of the grid the processor picks for the scene."""
    cols, rows = get_optimal_tiled_canvas((scene.height, scene.width), (size, size), 1, max_tiles)
    if cols * rows == 1 or rng.random() >= tile_share:
        return View()
    return View(cols, rows, rng.randrange(cols * rows))


def twin(rng: random.Random, scene: Scene, view: View) -> Scene:
    """The scene with one visible object changed so that the view's caption differs in one property only:
    its shape, its size, or (with two visible objects of different colours) their colours swapped; with nothing
    visible, the background's colour."""
    visible = [o for o, _ in visible_objects(scene, view)]
    objects = list(scene.objects)
    if not visible:
        colour = rng.choice([c for c in BACKGROUND_COLOURS if c != scene.background])
        return scene.model_copy(update={"id": scene.id + "-twin", "background": colour})
    kinds = ["shape", "shape", "size"]
    if len({o.colour for o in visible}) > 1:
        kinds.append("swap")
    kind = rng.choice(kinds)
    if kind == "swap":
        a, b = rng.choice([(a, b) for a in visible for b in visible if a.colour < b.colour])
        objects[objects.index(a)] = a.model_copy(update={"colour": b.colour})
        objects[objects.index(b)] = b.model_copy(update={"colour": a.colour})
    else:
        obj = rng.choice(visible)
        values = SHAPES if kind == "shape" else SIZES
        new = rng.choice([v for v in values if v != getattr(obj, kind)])
        objects[objects.index(obj)] = obj.model_copy(update={kind: new})
    return scene.model_copy(update={"id": scene.id + "-twin", "objects": tuple(objects)})
