"""Scenes: objects on a 3 x 3 grid over a background, sampled from a seed; facts read off them; two-image edits."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from typing import Literal

from pydantic import Field

from ayavision.utils.config import FrozenStrict
from ayavision.world.vocab import (
    BACKGROUND_COLOURS,
    CELLS,
    LATIN_WORDS,
    OBJECT_COLOURS,
    PATTERNS,
    POSITION_OF_CELL,
    POSITIONS,
    SHAPES,
    SIZES,
    TEXT_ON,
    Colour,
    Pattern,
    Position,
    Shape,
    Size,
)


class Obj(FrozenStrict):
    shape: Shape
    colour: Colour
    size: Size
    position: Position
    # Offset of the centre inside its cell, as a share of the room left by the object (-1..1): scenes look
    # less like a grid while the cell, and so the position word, stays certain.
    dx: float = 0.0
    dy: float = 0.0
    rotation: float = 0.0  # degrees; stars, triangles and diamonds turn a little


class Text(FrozenStrict):
    text: str
    colour: Colour
    position: Position


class SceneConfig(FrozenStrict):
    """What scenes look like; every field is part of what makes two datasets the same."""

    min_objects: int = Field(1, ge=1, le=9)
    max_objects: int = Field(5, ge=1, le=9)
    # Image sizes are drawn from these (width, height) pairs, so tiling meets several aspect ratios.
    sizes: tuple[tuple[int, int], ...] = ((256, 256), (320, 240), (240, 320), (384, 192), (192, 384), (288, 288))
    text_words: tuple[str, ...] = LATIN_WORDS
    jitter: float = Field(0.6, ge=0, le=1)


class Scene(FrozenStrict):
    """One picture's ground truth: what the teacher describes, the judge checks and the renderer draws."""

    id: str
    width: int = Field(ge=16)
    height: int = Field(ge=16)
    background: Colour
    pattern: Pattern
    objects: tuple[Obj, ...]
    text: Text | None = None

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Scene:
        return cls.model_validate_json(text)

    # Facts -----------------------------------------------------------------------------------------
    def count(self, shape: str | None = None) -> int:
        return sum(shape is None or o.shape == shape for o in self.objects)

    def shape_counts(self) -> Counter[str]:
        return Counter(o.shape for o in self.objects)

    def unique_shapes(self) -> list[str]:
        """Shapes that occur exactly once: "the circle" names one object only for these."""
        counts = self.shape_counts()
        return [shape for shape in SHAPES if counts[shape] == 1]

    def the(self, shape: str) -> Obj | None:
        found = [o for o in self.objects if o.shape == shape]
        return found[0] if len(found) == 1 else None

    def with_colour(self, colour: str) -> list[Obj]:
        return [o for o in self.objects if o.colour == colour]

    def shapes_present(self) -> list[str]:
        present = {o.shape for o in self.objects}
        return [shape for shape in SHAPES if shape in present]

    def free_positions(self) -> list[str]:
        taken = {o.position for o in self.objects} | ({self.text.position} if self.text else set())
        return [p for p in POSITIONS if p not in taken]


def seeded_rng(*parts: object) -> random.Random:
    """A generator determined by its parts alone (not by what was drawn before): sample i never depends on n."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def column(position: str) -> int:
    return CELLS[position][1]


def row(position: str) -> int:
    return CELLS[position][0]


def sample_scene(
    rng: random.Random, scene_id: str, config: SceneConfig | None = None, *, with_text: bool = False
) -> Scene:
    """A random scene: 1..max objects in distinct cells, random shapes (repeats allowed), colours and sizes."""
    config = config or SceneConfig()
    width, height = rng.choice(config.sizes)
    background = rng.choice(BACKGROUND_COLOURS)
    cells = list(POSITIONS)
    rng.shuffle(cells)
    text = None
    if with_text:
        # A word takes a row's middle cell, where it has the most room.
        spot = rng.choice(("top", "centre", "bottom"))
        cells.remove(spot)
        text = Text(text=rng.choice(config.text_words), colour=TEXT_ON[background], position=spot)
    high = min(config.max_objects, len(cells))
    n = rng.randint(min(config.min_objects, high), high)
    objects = tuple(random_object(rng, cells[i], config.jitter) for i in range(n))
    return Scene(
        id=scene_id,
        width=width,
        height=height,
        background=background,
        pattern=rng.choice(PATTERNS),
        objects=objects,
        text=text,
    )


def random_object(rng: random.Random, position: str, jitter: float = 0.6, shape: str | None = None) -> Obj:
    return Obj(
        shape=shape or rng.choice(SHAPES),
        colour=rng.choice(OBJECT_COLOURS),
        size=rng.choice(SIZES),
        position=position,
        dx=round(rng.uniform(-jitter, jitter), 3),
        dy=round(rng.uniform(-jitter, jitter), 3),
        rotation=round(rng.uniform(-15, 15), 1),
    )


Change = Literal["colour", "added", "removed", "moved"]


class Difference(FrozenStrict):
    """The one change between the two images of a difference item."""

    kind: Change
    shape: Shape
    before: str | None = None  # old colour or position
    after: str | None = None  # new colour or position


def edit_scene(rng: random.Random, scene: Scene, scene_id: str) -> tuple[Scene, Difference] | None:
    """A second scene that differs from ``scene`` in exactly one describable way, or None if none fits."""
    kinds: list[Change] = []
    unique = scene.unique_shapes()
    free = scene.free_positions()
    absent = [s for s in SHAPES if scene.count(s) == 0]
    if unique:
        kinds += ["colour", "removed"] if len(scene.objects) > 1 else ["colour"]
        if free:
            kinds.append("moved")
    if absent and free:
        kinds.append("added")
    if not kinds:
        return None
    kind = rng.choice(kinds)
    objects = list(scene.objects)
    if kind == "added":
        shape = rng.choice(absent)
        obj = random_object(rng, rng.choice(free), shape=shape)
        objects.append(obj)
        diff = Difference(kind=kind, shape=shape)
    else:
        shape = rng.choice(unique)
        index = next(i for i, o in enumerate(objects) if o.shape == shape)
        old = objects[index]
        if kind == "colour":
            new_colour = rng.choice([c for c in OBJECT_COLOURS if c != old.colour])
            objects[index] = old.model_copy(update={"colour": new_colour})
            diff = Difference(kind=kind, shape=shape, before=old.colour, after=new_colour)
        elif kind == "moved":
            target = rng.choice(free)
            objects[index] = old.model_copy(update={"position": target})
            diff = Difference(kind=kind, shape=shape, before=old.position, after=target)
        else:
            del objects[index]
            diff = Difference(kind=kind, shape=shape)
    return scene.model_copy(update={"id": scene_id, "objects": tuple(objects)}), diff


def difference_of(first: Scene, second: Scene) -> Difference | None:
    """Recover the single change between two scenes (what the teacher and the judge see), or None."""
    a = {o.position: o for o in first.objects}
    b = {o.position: o for o in second.objects}
    shapes_a, shapes_b = first.shape_counts(), second.shape_counts()
    if len(second.objects) == len(first.objects) + 1:
        added = [s for s in SHAPES if shapes_b[s] == shapes_a[s] + 1]
        return Difference(kind="added", shape=added[0]) if len(added) == 1 else None
    if len(second.objects) == len(first.objects) - 1:
        removed = [s for s in SHAPES if shapes_a[s] == shapes_b[s] + 1]
        return Difference(kind="removed", shape=removed[0]) if len(removed) == 1 else None
    changed = [p for p in a if p not in b or b[p].shape != a[p].shape or b[p].colour != a[p].colour]
    if len(changed) == 1 and changed[0] in b:
        old, new = a[changed[0]], b[changed[0]]
        if old.shape == new.shape:
            return Difference(kind="colour", shape=old.shape, before=old.colour, after=new.colour)
    moved_from = [p for p in a if p not in b]
    moved_to = [p for p in b if p not in a]
    if len(moved_from) == 1 and len(moved_to) == 1 and a[moved_from[0]].shape == b[moved_to[0]].shape:
        return Difference(kind="moved", shape=a[moved_from[0]].shape, before=moved_from[0], after=moved_to[0])
    return None


def position_of_cell(r: int, c: int) -> str:
    return POSITION_OF_CELL[(r, c)]
