"""Draw a scene with Pillow at any size, and carry its scene graph inside the PNG so the demo backends can see it."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, PngImagePlugin

from ayavision.world.fonts import load_font, script_of
from ayavision.world.scene import Obj, Scene
from ayavision.world.vocab import CELLS, RGB, SIZE_SCALE

SCENE_KEY = "ayavision-world-scene"  # the PNG text chunk that holds the scene graph
_SUPERSAMPLE = 2  # draw at twice the size and shrink: smooth edges without anti-aliased primitives


def _shade(rgb: tuple[int, int, int], amount: int) -> tuple[int, int, int]:
    # Patterns are a slightly lighter or darker version of the background, so they never read as objects.
    direction = -1 if sum(rgb) > 384 else 1
    return tuple(max(0, min(255, c + direction * amount)) for c in rgb)  # type: ignore[return-value]


def _background(draw: ImageDraw.ImageDraw, scene: Scene, w: int, h: int) -> None:
    base = RGB[scene.background]
    draw.rectangle((0, 0, w, h), fill=base)
    tone = _shade(base, 28)
    step = max(6, min(w, h) // 16)
    if scene.pattern == "stripes":
        width = max(2, step // 3)
        for x in range(-h, w, step):
            draw.line((x, 0, x + h, h), fill=tone, width=width)
    elif scene.pattern == "dots":
        radius = max(1, step // 6)
        for y in range(step // 2, h, step):
            for x in range(step // 2, w, step):
                draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=tone)


def _cell(position: str, w: int, h: int) -> tuple[float, float, float, float]:
    r, c = CELLS[position]
    return c * w / 3, r * h / 3, (c + 1) * w / 3, (r + 1) * h / 3


def _rotate(points: list[tuple[float, float]], cx: float, cy: float, degrees: float) -> list[tuple[float, float]]:
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    return [(cx + (x - cx) * cos - (y - cy) * sin, cy + (x - cx) * sin + (y - cy) * cos) for x, y in points]


def _outline(obj: Obj, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if obj.shape == "square":
        s = r * 0.82
        points = [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    elif obj.shape == "triangle":
        points = [(cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a))) for a in (-90, 30, 150)]
    elif obj.shape == "star":
        points = []
        for k in range(10):
            radius = r if k % 2 == 0 else r * 0.45
            angle = math.radians(-90 + 36 * k)
            points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    elif obj.shape == "diamond":
        points = [(cx, cy - r), (cx + r * 0.62, cy), (cx, cy + r), (cx - r * 0.62, cy)]
    elif obj.shape == "heart":
        points = []
        for k in range(48):
            t = 2 * math.pi * k / 48
            x = 16 * math.sin(t) ** 3
            y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
            points.append((cx + x * r / 17, cy - y * r / 17 - r * 0.05))
    else:
        raise ValueError(f"no outline for {obj.shape!r}")
    return _rotate(points, cx, cy, obj.rotation) if obj.shape != "heart" else points


def object_box(obj: Obj, w: int, h: int) -> tuple[float, float, float]:
    """Centre and radius of an object drawn on a w x h canvas."""
    x0, y0, x1, y1 = _cell(obj.position, w, h)
    half = min(x1 - x0, y1 - y0) / 2 * 0.92
    r = half * SIZE_SCALE[obj.size]
    # The jitter moves the object only within its cell: its position word stays true.
    cx = (x0 + x1) / 2 + obj.dx * ((x1 - x0) / 2 - r) * 0.9
    cy = (y0 + y1) / 2 + obj.dy * ((y1 - y0) / 2 - r) * 0.9
    return cx, cy, r


def _draw_text(draw: ImageDraw.ImageDraw, scene: Scene, w: int, h: int) -> None:
    assert scene.text is not None
    x0, y0, x1, y1 = _cell(scene.text.position, w, h)
    size = int((y1 - y0) * 0.5)
    font = load_font(size, script_of(scene.text.text))
    # Shrink until the word fits its cell with a margin.
    while size > 6:
        left, top, right, bottom = draw.textbbox((0, 0), scene.text.text, font=font)
        if right - left <= (x1 - x0) * 0.9:
            break
        size = int(size * 0.85)
        font = load_font(size, script_of(scene.text.text))
    left, top, right, bottom = draw.textbbox((0, 0), scene.text.text, font=font)
    x = (x0 + x1) / 2 - (left + right) / 2
    y = (y0 + y1) / 2 - (top + bottom) / 2
    draw.text((x, y), scene.text.text, fill=RGB[scene.text.colour], font=font)


def render_scene(scene: Scene, size: tuple[int, int] | None = None) -> Image.Image:
    """The scene as an RGB image, at its own size or ``size`` (width, height)."""
    width, height = size or (scene.width, scene.height)
    w, h = width * _SUPERSAMPLE, height * _SUPERSAMPLE
    image = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(image)
    _background(draw, scene, w, h)
    for obj in scene.objects:
        cx, cy, r = object_box(obj, w, h)
        fill = RGB[obj.colour]
        if obj.shape == "circle":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        else:
            draw.polygon(_outline(obj, cx, cy, r), fill=fill)
    if scene.text is not None:
        _draw_text(draw, scene, w, h)
    return image.resize((width, height), Image.Resampling.LANCZOS)


def render_mask(scene: Scene) -> Image.Image:
    """Which object covers each pixel, at the scene's own size: 0 for none, i + 1 for ``scene.objects[i]`` (drawn as
    ``render_scene`` draws them, without anti-aliasing), the ground truth of dense features."""
    mask = Image.new("L", (scene.width, scene.height), 0)
    draw = ImageDraw.Draw(mask)
    for index, obj in enumerate(scene.objects):
        cx, cy, r = object_box(obj, scene.width, scene.height)
        if obj.shape == "circle":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=index + 1)
        else:
            draw.polygon(_outline(obj, cx, cy, r), fill=index + 1)
    return mask


def encode_png(scene: Scene, image: Image.Image | None = None) -> bytes:
    """PNG bytes of the scene with its scene graph in a text chunk (the same bytes for the same scene)."""
    image = image if image is not None else render_scene(scene)
    info = PngImagePlugin.PngInfo()
    info.add_text(SCENE_KEY, scene.to_json())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, compress_level=6)
    return buffer.getvalue()


def save_scene(scene: Scene, path: str | Path) -> None:
    from ayavision.utils.fs import atomic_file

    with atomic_file(path, "wb") as handle:
        handle.write(encode_png(scene))


def read_scene(image: Any) -> Scene | None:
    """The scene graph an image carries (PNG bytes, a path, or a PIL image), or None for any other image."""
    try:
        if isinstance(image, Image.Image):
            opened = image
        elif isinstance(image, bytes | bytearray):
            opened = Image.open(io.BytesIO(image))
        elif isinstance(image, str | Path):
            with Image.open(image) as handle:
                text = dict(getattr(handle, "text", {}) or {}).get(SCENE_KEY)
            return Scene.from_json(text) if text else None
        else:
            return None
        text = dict(getattr(opened, "text", {}) or opened.info or {}).get(SCENE_KEY)
    except (OSError, ValueError):
        return None
    if not isinstance(text, str):
        return None
    try:
        return Scene.from_json(text)
    except ValueError:
        return None
