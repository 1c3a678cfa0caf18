"""The closed vocabulary of the shapes world: shapes, colours, sizes, grid positions, patterns, and their pixels."""

from __future__ import annotations

from typing import Literal, get_args

Shape = Literal["circle", "square", "triangle", "star", "heart", "diamond"]
Colour = Literal["red", "green", "blue", "yellow", "orange", "purple", "white", "grey", "black"]
Size = Literal["small", "medium", "large"]
Position = Literal["top_left", "top", "top_right", "left", "centre", "right", "bottom_left", "bottom", "bottom_right"]
Pattern = Literal["plain", "stripes", "dots"]

SHAPES: tuple[str, ...] = get_args(Shape)
COLOURS: tuple[str, ...] = get_args(Colour)
SIZES: tuple[str, ...] = get_args(Size)
POSITIONS: tuple[str, ...] = get_args(Position)
PATTERNS: tuple[str, ...] = get_args(Pattern)

# Objects are painted in saturated colours and backgrounds in neutral ones, so that an object never
# vanishes into its background and "the colour of the background" never names an object's colour.
OBJECT_COLOURS: tuple[str, ...] = ("red", "green", "blue", "yellow", "orange", "purple")
BACKGROUND_COLOURS: tuple[str, ...] = ("white", "grey", "black")

RGB: dict[str, tuple[int, int, int]] = {
    "red": (220, 38, 38),
    "green": (34, 160, 60),
    "blue": (37, 99, 235),
    "yellow": (240, 200, 20),
    "orange": (245, 130, 20),
    "purple": (140, 60, 200),
    "white": (245, 245, 245),
    "grey": (150, 150, 150),
    "black": (25, 25, 25),
}
# The colour text is written in, per background: readable on each.
TEXT_ON: dict[str, str] = {"white": "black", "grey": "black", "black": "white"}

# A position is a cell of a 3 x 3 grid: (row, column), row 0 at the top.
CELLS: dict[str, tuple[int, int]] = {
    "top_left": (0, 0),
    "top": (0, 1),
    "top_right": (0, 2),
    "left": (1, 0),
    "centre": (1, 1),
    "right": (1, 2),
    "bottom_left": (2, 0),
    "bottom": (2, 1),
    "bottom_right": (2, 2),
}
POSITION_OF_CELL: dict[tuple[int, int], str] = {cell: name for name, cell in CELLS.items()}

# Radius of an object as a share of half the cell's shorter side: three sizes a small encoder can tell apart.
SIZE_SCALE: dict[str, float] = {"small": 0.38, "medium": 0.62, "large": 0.88}

# Words for the reading task: Latin capitals and digits always render (Pillow's own font has them).
LATIN_WORDS: tuple[str, ...] = (
    "SUN",
    "MOON",
    "TREE",
    "RIVER",
    "CLOUD",
    "STONE",
    "APPLE",
    "HOUSE",
    "BOOK",
    "LAMP",
    "SHIP",
    "BIRD",
    "FISH",
    "ROAD",
    "DOOR",
    "RAIN",
    "SNOW",
    "WIND",
    "FIRE",
    "LEAF",
)
