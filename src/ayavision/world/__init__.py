"""The shapes world: a procedural multilingual visual world with known ground truth, for the demo and tests.

A plug-in: it reaches the rest of ayavision through public interfaces only. Importing it registers its demo
backends (``world-teacher``, ``world-translator``, ``world-rephraser``, ``world-judge``) and its benchmarks
(``world-vqa``, ``world-text``); list ``ayavision.world`` under a pipeline's ``plugins`` to use them there.

Data: ``make_world_dataset``, ``make_text_task`` / ``text_samples`` / ``score_text_task``. Tiny pretrained parts
(torch, loaded lazily): ``pretrain_tokenizer``, ``pretrain_encoder``, ``pretrain_text_llm`` in
``ayavision.world.pretrain``. Measurement: ``filter_quality``, ``translation_quality``.
"""

from ayavision.world import backends as _backends  # noqa: F401 - registers the demo backends
from ayavision.world.bench import register_world_benchmarks
from ayavision.world.config import DatasetConfig, TextTaskConfig
from ayavision.world.dataset import make_world_dataset
from ayavision.world.grammar import parse, render, short_answer
from ayavision.world.lexicon import all_lexicons, load_lexicon
from ayavision.world.measure import filter_quality, translation_quality, was_corrupted
from ayavision.world.render import encode_png, read_scene, render_scene
from ayavision.world.scene import Scene, SceneConfig, sample_scene, seeded_rng
from ayavision.world.tasks import WORLD_TASKS
from ayavision.world.texttask import TextSample, make_text_task, read_text_task, score_text_task, text_samples
from ayavision.world.translate import chrf, corpus_chrf, literal_translate, natural_translate

register_world_benchmarks()

__all__ = [
    "WORLD_TASKS",
    "DatasetConfig",
    "Scene",
    "SceneConfig",
    "TextSample",
    "TextTaskConfig",
    "all_lexicons",
    "chrf",
    "corpus_chrf",
    "encode_png",
    "filter_quality",
    "literal_translate",
    "load_lexicon",
    "make_text_task",
    "make_world_dataset",
    "natural_translate",
    "parse",
    "read_scene",
    "read_text_task",
    "register_world_benchmarks",
    "render",
    "render_scene",
    "sample_scene",
    "score_text_task",
    "seeded_rng",
    "short_answer",
    "text_samples",
    "translation_quality",
    "was_corrupted",
]
