"""Sample pictures for documentation, and a whole-lexicon check: every sentence form, every language."""

from __future__ import annotations

from pathlib import Path

from ayavision.languages import LANGUAGES
from ayavision.world.corpus import random_slots
from ayavision.world.frames import FRAMES
from ayavision.world.grammar import parse, render, variant_count
from ayavision.world.lexicon import LexiconError, load_lexicon
from ayavision.world.render import save_scene
from ayavision.world.scene import sample_scene, seeded_rng
from ayavision.world.tasks import render_statements, scene_statements


def write_samples(out: str | Path, n: int, seed: int = 0, language: str = "eng_Latn") -> list[tuple[Path, str]]:
    """``n`` scenes as ``sample-<i>.png`` (one with text to read) and their descriptions in ``language``."""
    out = Path(out)
    written = []
    for index in range(n):
        scene = sample_scene(seeded_rng(seed, "sample", index), f"sample-{index}", with_text=index == n - 1)
        path = out / f"sample-{index}.png"
        save_scene(scene, path)
        written.append((path, render_statements(scene_statements(scene), language)))
    return written


def check_lexicons(seed: int = 0) -> dict[str, dict[str, str]]:
    """Render each frame (every variant) in each language and read it back; raise on the first gap."""
    rng = seeded_rng(seed, "check")
    rendered: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        load_lexicon(lang.nllb)
        rendered[lang.nllb] = {}
        for frame in FRAMES:
            for variant in range(variant_count(frame, lang.nllb)):
                slots = random_slots(rng, frame)
                text = render(frame, slots, lang.nllb, variant)
                back = parse(text, lang.nllb)
                if len(back) != 1 or back[0].frame != frame or back[0].slots != slots:
                    raise LexiconError(f"{lang.nllb}: {frame} does not read back: {text!r} -> {back}")
                rendered[lang.nllb][frame] = text
    return rendered
