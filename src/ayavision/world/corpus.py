"""Text the world writes, to train its tokenizer: every frame in every language, glosses, captions, the text task."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from ayavision.languages import LANGUAGES
from ayavision.world.config import TextTaskConfig
from ayavision.world.frames import FRAMES, SLOT_KINDS
from ayavision.world.grammar import render, short_answer, variant_count
from ayavision.world.scene import sample_scene, seeded_rng
from ayavision.world.tasks import english_caption
from ayavision.world.texttask import text_sample
from ayavision.world.translate import literal_translate
from ayavision.world.vocab import COLOURS, LATIN_WORDS, PATTERNS, POSITIONS, SHAPES, SIZES


def random_slots(rng: random.Random, frame: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for slot in FRAMES[frame].slots:
        kind = SLOT_KINDS[slot]
        if kind == "shape":
            taken = set(values.values())
            values[slot] = rng.choice([s for s in SHAPES if s not in taken])
        elif kind == "shape_list":
            values[slot] = rng.sample(SHAPES, rng.randint(1, 4))
        elif kind == "number":
            values[slot] = rng.randint(0, 9)
        elif kind == "text":
            values[slot] = rng.choice(LATIN_WORDS)
        else:
            pool = {"colour": COLOURS, "size": SIZES, "position": POSITIONS, "pattern": PATTERNS}[kind]
            values[slot] = rng.choice(pool)
    return values


def world_corpus(seed: int = 0, per_frame: int = 6, text_samples: int = 40) -> Iterator[str]:
    """Lines of text covering everything the world writes, in all 23 languages."""
    rng = seeded_rng(seed, "corpus")
    for lang in LANGUAGES:
        for frame in FRAMES:
            for k in range(per_frame):
                slots = random_slots(rng, frame)
                text = render(frame, slots, lang.nllb, k % variant_count(frame, lang.nllb))
                yield text
                if lang.nllb == "eng_Latn":
                    continue
                if k == 0:
                    english = render(frame, slots, "eng_Latn", rng.randrange(3))
                    yield literal_translate(english, lang.nllb)  # translationese tokenises too
        for kind, keys in (("colour", COLOURS), ("size", SIZES), ("position", POSITIONS), ("shape", SHAPES)):
            for key in keys:
                yield short_answer(kind, key, lang.nllb)
        config = TextTaskConfig(n=text_samples, seed=seed, languages=(lang.nllb,))
        for i in range(text_samples):
            sample = text_sample(config, i, "corpus")
            yield sample.prompt
            yield sample.answer
    for i in range(200):
        yield english_caption(sample_scene(seeded_rng(seed, "corpus-scene", i), "c"))
