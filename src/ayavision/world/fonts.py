"""Fonts for rendered text: Pillow's own font for Latin and digits everywhere, a system font for other scripts."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from PIL import ImageFont

from ayavision.errors import AyaVisionError

# Scripts DejaVu Sans draws without shaping; Arabic and Hebrew would also need bidi and joining (libraqm).
_DEJAVU_SCRIPTS = ("Latn", "Cyrl", "Grek")
_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/DejaVuSans.ttf",
)
FONT_ENV = "AYAVISION_WORLD_FONT"  # a .ttf that covers Latin, Cyrillic and Greek


class FontUnavailableError(AyaVisionError, RuntimeError):
    """Text in a script that no font on this machine can draw was asked for."""


@cache
def system_font() -> Path | None:
    """A DejaVu-like font found on this machine (or named by $AYAVISION_WORLD_FONT), or None."""
    for candidate in (os.environ.get(FONT_ENV), *_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def available_scripts() -> tuple[str, ...]:
    """Scripts the reading task can render here: always Latin (with digits), more with a system font."""
    return _DEJAVU_SCRIPTS if system_font() is not None else ("Latn",)


@cache
def load_font(size: int, script: str = "Latn") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font of ``size`` pixels for ``script``. Latin uses Pillow's bundled font so images match on every machine."""
    if script == "Latn":
        return ImageFont.load_default(size=size)
    path = system_font()
    if path is None or script not in _DEJAVU_SCRIPTS:
        raise FontUnavailableError(
            f"no font for script {script!r} on this machine; set ${FONT_ENV} to a DejaVu-like .ttf "
            f"or keep the reading task to Latin (scripts available: {', '.join(available_scripts())})"
        )
    return ImageFont.truetype(str(path), size=size)


def script_of(text: str) -> str:
    """The script of a word, from its first letter (the reading task's words are single-script)."""
    for char in text:
        if "\u0400" <= char <= "\u04ff":
            return "Cyrl"
        if "\u0370" <= char <= "\u03ff":
            return "Grek"
        if char.isalpha():
            return "Latn"
    return "Latn"
