"""Typed configs of the tiny pretrained parts: sizes, steps and data; the fingerprint keys each cache."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ayavision.world.config import ALL_LANGUAGES, Strict, TextTaskConfig


class TokenizerConfig(Strict):
    vocab_size: int = Field(4096, ge=512, description="BPE vocabulary, special tokens included")
    seed: int = 0
    per_frame: int = Field(6, ge=1, description="renderings of each frame per language in the corpus")
    text_samples: int = Field(40, ge=0, description="text-task samples per language in the corpus")


class EncoderConfig(Strict):
    """A tiny SigLIP: vision tower at the tile size of the tiny VLM (96 px, patch 8), text tower for captions."""

    # 96 px, not 64: a linear probe trained on 64 px views read shapes at 0.72 at best, at 96 px 0.92
    # (docs/world.md, "How the encoder was chosen").
    image_size: int = 96
    patch_size: int = 8
    hidden_size: int = 96
    intermediate_size: int = 256
    layers: int = 3
    heads: int = 4
    text_hidden_size: int = 96
    text_layers: int = 2
    text_length: int = Field(48, ge=8, description="captions are padded or cut to this many tokens")
    # The shipped encoder's settings (ayavision/world/parts; docs/world.md has its time and scores).
    steps: int = Field(3000, ge=1)
    batch_size: int = Field(96, ge=2)
    lr: float = 2e-3
    warmup: int = 100
    weight_decay: float = 0.05
    pool: int = Field(48000, ge=16, description="training scenes rendered once and shared by the steps")
    eval_size: int = Field(256, ge=8, description="held-out image-caption pairs for retrieval accuracy")
    # What it learns from (pretrain/views.py, pretrain/dense.py). With none of the three, it sees thumbnails of random
    # scenes with the sigmoid loss alone, and nothing in its loss needs shapes: it then read them at chance.
    hard_negatives: float = Field(0.5, ge=0, le=1, description="share of a batch that is scenes and their twins")
    tile_views: float = Field(0.5, ge=0, le=1, description="share of multi-tile images seen as one tile")
    max_tiles: int = Field(2, ge=1, description="the tiling the tile views come from (the VLM's max_tiles)")
    dense_weight: float = Field(4.0, ge=0, description="weight of the region loss (pretrain/dense.py); 0: none")
    dense_target: Literal["object", "patch"] = Field(
        "object", description="what the region heads read: each object's mean patch state, or each patch under it"
    )
    code_weight: float = Field(
        0.0, ge=0, description="weight of the code fit (pretrain/dense.py): states their attributes explain; 0: none"
    )
    code_fit: Literal["share", "balanced", "fixed"] = Field(
        "share",
        description="the code fit's form (pretrain/dense.py, CodeFit): a free map, one part per share, or fixed "
        "directions",
    )
    code_background: float = Field(
        1.0, ge=0, description="length of the background's directions in the fixed code fit (the objects' parts: 1)"
    )
    code_background_on: Literal["all", "background"] = Field(
        "all",
        description="which patches the code fit gives the background's part of the code: all, or those no object owns",
    )
    code_target: Literal["patch", "block"] = Field(
        "patch",
        description="what each patch state is fitted to: its own code, or the mean code of the 2 x 2 patches the "
        "pixel shuffle makes one image token of",
    )
    seed: int = 0
    threads: int = Field(0, ge=0, description="torch CPU threads (0: leave torch's default)")


class LLMConfig(Strict):
    """A tiny Cohere2 causal LM (tied head, logit_scale 1.0) trained on the text task in every language."""

    hidden_size: int = 128
    intermediate_size: int = 384
    layers: int = 3
    heads: int = 4
    kv_heads: int = 2
    max_positions: int = 2048
    # The shipped text LLM's settings (ayavision/world/parts; docs/world.md has its time and scores).
    steps: int = Field(1200, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = 3e-3
    warmup: int = 60
    weight_decay: float = 0.05
    prompt_weight: float = Field(0.05, ge=0, le=1, description="loss weight of prompt tokens (answer tokens: 1)")
    # Eight questions per dialogue: the answers are what it learns from, so more of them per token of text.
    turns: int = Field(8, ge=1, le=8, description="questions per training dialogue (evaluation asks one)")
    eval_size: int = Field(460, ge=1, description="held-out text-task questions (20 per language by default)")
    # The shape of the text task it learns (and is evaluated on): see TextTaskConfig. Measured on 2 cores
    # (docs/world.md): one object, colour and size questions is learnt in 250 steps; with two objects to tell
    # apart, or multi-word answers (position), a model this small needs several times longer.
    min_objects: int = Field(1, ge=1, le=6)
    max_objects: int = Field(1, ge=1, le=6)
    questions: tuple[str, ...] = ("ask_colour", "ask_size")
    answer_style: Literal["word", "sentence"] = "word"
    # Share of each batch that is plain text, scene descriptions as the teacher writes them in every language:
    # the LLM then knows the language of the images' descriptions before multimodal training, as a real one does.
    description_share: float = Field(0.0625, ge=0, lt=1)
    # Share of each batch that is written-scene questions of every image-question kind (``scene_qa``): the LLM
    # then answers, in all 23 languages, the questions the VLM will be asked about images.
    scene_qa_share: float = Field(0.75, ge=0, lt=1)
    # Share of those written-scene dialogues that cross languages (scene in one, questions in others,
    # pretrain/scene_qa.py): without it the LLM keeps each language apart, and a VLM built on it named in
    # English the colours it could not name in the other 22 (docs/world.md).
    crosslingual_share: float = Field(0.5, ge=0, le=1)
    # The copying lesson (pretrain/copying.py): steps of repeated random spans before the lessons above, and the
    # share of each batch that keeps it. Without it the LLM never learnt to look a word up in its prompt.
    copy_steps: int = Field(600, ge=0)
    copy_share: float = Field(0.0625, ge=0, lt=1)
    scene_qa_eval: int = Field(230, ge=0, description="held-out written-scene questions (10 per language)")
    seed: int = 0
    threads: int = Field(0, ge=0, description="torch CPU threads (0: leave torch's default)")

    def task(self, n: int, seed: int | None = None, languages: tuple[str, ...] = ALL_LANGUAGES) -> TextTaskConfig:
        """The text task this LLM learns, ``n`` samples of it (another ``seed`` for held-out sets)."""
        return TextTaskConfig(
            n=n,
            seed=self.seed if seed is None else seed,
            languages=languages,
            min_objects=self.min_objects,
            max_objects=self.max_objects,
            questions=self.questions,
            answer_style=self.answer_style,
        )
