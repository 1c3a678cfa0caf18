"""A tiny SigLIP pretrained on world image-caption pairs with SigLIP's sigmoid loss, scored by retrieval."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ayavision.utils.progress import progress_bar
from ayavision.world.cache import building
from ayavision.world.pretrain.common import (
    lr_at,
    make_optimizer,
    optimizer_step,
    reusable,
    seed_everything,
    set_lr,
    set_threads,
    tokenizer_key,
)
from ayavision.world.pretrain.configs import EncoderConfig
from ayavision.world.pretrain.dense import CodeFit, RegionHeads, region_targets
from ayavision.world.pretrain.tokenizer import load_world_tokenizer
from ayavision.world.pretrain.views import random_view, twin, view_caption, view_pixels
from ayavision.world.scene import SceneConfig, sample_scene, seeded_rng
from ayavision.world.vocab import BACKGROUND_COLOURS


@dataclass
class Pairs:
    """Images (uint8, N x 3 x H x W), caption ids and captions; with twins, item ``i + originals`` is item i's twin."""

    images: torch.Tensor
    ids: torch.Tensor
    captions: list[str]
    originals: int
    owners: torch.Tensor  # which object each patch shows, per item (see dense.region_targets)
    values: torch.Tensor  # each object's attribute ids, per item
    tiles: torch.Tensor  # whether each item is a tile (else the thumbnail)
    backgrounds: torch.Tensor  # each item's background colour id (vocab.BACKGROUND_COLOURS)

    @property
    def has_twins(self) -> bool:
        return len(self.captions) > self.originals


def _pairs(config: EncoderConfig, split: str, n: int, tokenizer, *, twins: bool = False, tiles: float = 0.0) -> Pairs:
    """``n`` scenes of a split, each seen in one view (a tile with probability ``tiles``), and their twins."""
    scenes, views = [], []
    for i in range(n):
        scene = sample_scene(seeded_rng(config.seed, "encoder", split, i), f"e{i}", SceneConfig(), with_text=i % 8 == 0)
        view_rng = seeded_rng(config.seed, "view", split, i)
        scenes.append(scene)
        views.append(random_view(view_rng, scene, config.image_size, config.max_tiles, tiles))
    if twins:
        scenes += [twin(seeded_rng(config.seed, "twin", split, i), scenes[i], views[i]) for i in range(n)]
        views += views
    seen = list(zip(scenes, views, strict=True))
    images = torch.from_numpy(np.stack([view_pixels(s, v, config.image_size) for s, v in seen]))
    captions = [view_caption(s, v) for s, v in seen]
    ids = tokenizer(
        captions, padding="max_length", truncation=True, max_length=config.text_length, add_special_tokens=False
    )
    targets = [region_targets(s, v, config.image_size, config.patch_size) for s, v in seen]
    owners = torch.from_numpy(np.stack([t[0] for t in targets]))
    values = torch.from_numpy(np.stack([t[1] for t in targets]))
    tile = torch.tensor([v.tile is not None for _, v in seen])
    backgrounds = torch.tensor([BACKGROUND_COLOURS.index(s.background) for s, _ in seen])
    images = images.permute(0, 3, 1, 2).contiguous()
    return Pairs(images, torch.tensor(ids["input_ids"]), captions, n, owners, values, tile, backgrounds)


def _batch(rng: np.random.Generator, pool: Pairs, size: int, hard_negatives: float) -> torch.Tensor:
    """``size`` pool items: originals drawn without replacement, the first of them joined by their twins."""
    pairs = round(hard_negatives * size / 2) if pool.has_twins else 0
    chosen = rng.choice(pool.originals, size - pairs, replace=False)
    return torch.from_numpy(np.concatenate([chosen, chosen[:pairs] + pool.originals]))


def _pixels(images: torch.Tensor) -> torch.Tensor:
    return (images.float() / 255.0 - 0.5) / 0.5  # the AyaVision processor's rescale and mean = std = 0.5


def build_siglip(config: EncoderConfig, vocab_size: int, pad_id: int):
    from transformers import SiglipConfig, SiglipModel

    text = {
        "vocab_size": vocab_size,
        "hidden_size": config.text_hidden_size,
        "intermediate_size": config.text_hidden_size * 2,
        "num_hidden_layers": config.text_layers,
        "num_attention_heads": config.heads,
        "max_position_embeddings": config.text_length,
        "pad_token_id": pad_id,
        # Captions carry no bos/eos (see _pairs); the pad id stands in so the config names ids inside the vocabulary.
        "bos_token_id": pad_id,
        "eos_token_id": pad_id,
        "projection_size": config.hidden_size,
    }
    vision = {
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.layers,
        "num_attention_heads": config.heads,
        "image_size": config.image_size,
        "patch_size": config.patch_size,
    }
    model = SiglipModel(SiglipConfig(text_config=text, vision_config=vision))
    with torch.no_grad():
        # SigLIP's initial temperature and bias (log 10 and -10): the sigmoid loss starts sane only with them.
        model.logit_scale.fill_(math.log(10.0))
        model.logit_bias.fill_(-10.0)
    return model


@torch.no_grad()
def _embed(model, pairs: Pairs) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit image and caption embeddings of every item."""
    chunks = range(0, len(pairs.captions), 128)
    images = torch.cat(
        [_features(model.get_image_features(pixel_values=_pixels(pairs.images[i : i + 128]))) for i in chunks]
    )
    texts = torch.cat([_features(model.get_text_features(input_ids=pairs.ids[i : i + 128])) for i in chunks])
    return torch.nn.functional.normalize(images, dim=-1), torch.nn.functional.normalize(texts, dim=-1)


@torch.no_grad()
def retrieval(model, pairs: Pairs) -> dict[str, float]:
    """Top-1 image->caption and caption->image accuracy over the held-out originals (identical captions count)."""
    model.eval()
    image_emb, text_emb = _embed(model, pairs)
    n = pairs.originals
    captions = pairs.captions[:n]
    sims = image_emb[:n] @ text_emb[:n].T
    same = torch.tensor([[a == b for b in captions] for a in captions])
    i2t = same[torch.arange(n), sims.argmax(dim=1)].float().mean().item()
    t2i = same[sims.argmax(dim=0), torch.arange(n)].float().mean().item()
    top5 = sims.topk(min(5, n), dim=1).indices
    i2t5 = torch.stack([same[i, top5[i]].any() for i in range(n)]).float().mean().item()
    model.train()
    return {"image_to_text_top1": i2t, "text_to_image_top1": t2i, "image_to_text_top5": i2t5}


@torch.no_grad()
def twin_accuracy(model, pairs: Pairs) -> float:
    """How often an image is closer to its own caption than to its twin's, and the twin's image to the twin's
    caption (chance 0.5): what only shapes, sizes and which colour is whose can decide."""
    model.eval()
    image_emb, text_emb = _embed(model, pairs)
    n = pairs.originals
    own = (image_emb * text_emb).sum(-1)
    crossed = (image_emb * text_emb.roll(n, dims=0)).sum(-1)
    model.train()
    return (own > crossed).float().mean().item()


@torch.no_grad()
def dense_accuracy(model, dense: RegionHeads, pairs: Pairs) -> dict[str, dict[str, float]]:
    """The region heads' accuracy on the objects held-out views show, per attribute, in thumbnails and in tiles."""
    model.eval()
    states = model.vision_model(pixel_values=_pixels(pairs.images), output_hidden_states=True).hidden_states[-1]
    model.train()
    return {
        view: dense.accuracy(states[chosen], pairs.owners[chosen], pairs.values[chosen])
        for view, chosen in (("thumbnail", ~pairs.tiles), ("tile", pairs.tiles))
        if chosen.any()
    }


@torch.no_grad()
def code_unexplained(model, code_fit: CodeFit, pairs: Pairs) -> float:
    """The code fit's loss on held-out views: the share of their patch states' variance the code leaves unexplained."""
    model.eval()
    states = model.vision_model(pixel_values=_pixels(pairs.images), output_hidden_states=True).hidden_states[-1]
    model.train()
    return code_fit.loss(states, pairs.owners, pairs.values, pairs.backgrounds).item()


def _features(output: Any) -> torch.Tensor:
    return output.pooler_output if hasattr(output, "pooler_output") else output


def pretrain_encoder(
    out: str | Path,
    tokenizer: str | Path,
    config: EncoderConfig | None = None,
    *,
    progress: bool = False,
    **settings: Any,
) -> dict[str, Any]:
    """Train the tiny SigLIP and save it to ``out`` (SiglipModel safetensors + config); reused if already there.

    ``tokenizer`` is the world tokenizer folder (``pretrain_tokenizer``). Returns the summary with retrieval
    accuracy on held-out pairs against chance (1 / eval_size).
    """
    config = config or EncoderConfig(**settings)
    done = reusable(out, "encoder", config, tokenizer)
    if done is not None:
        return done
    set_threads(config.threads)
    seed_everything(config.seed)
    start = time.perf_counter()
    tok = load_world_tokenizer(tokenizer)
    train = _pairs(config, "train", config.pool, tok, twins=config.hard_negatives > 0, tiles=config.tile_views)
    held_out = _pairs(config, "eval", config.eval_size, tok)
    twins = _pairs(config, "twins", config.eval_size, tok, twins=True, tiles=config.tile_views)
    render_seconds = time.perf_counter() - start
    model = build_siglip(config, len(tok), tok.pad_token_id)
    per_patch = config.dense_target == "patch"
    dense = RegionHeads(config.hidden_size, per_patch=per_patch) if config.dense_weight > 0 else None
    code_fit = None
    if config.code_weight > 0:
        code_fit = CodeFit(
            config.hidden_size,
            config.code_fit,
            config.seed,
            config.code_background,
            config.code_background_on,
            config.code_target,
        )
    local = {name: head for name, head in (("dense", dense), ("code_fit", code_fit)) if head is not None}
    trained = torch.nn.ModuleDict({"siglip": model, **local}) if local else model
    optimizer = make_optimizer(trained, config.lr, config.weight_decay)
    rng = np.random.default_rng(config.seed)
    losses = []
    with progress_bar("pretraining the SigLIP encoder", config.steps, enabled=progress) as advance:
        for step in range(config.steps):
            set_lr(optimizer, lr_at(step, config.steps, config.lr, config.warmup))
            batch = _batch(rng, train, config.batch_size, config.hard_negatives)
            output = model(
                input_ids=train.ids[batch],
                pixel_values=_pixels(train.images[batch]),
                return_loss=True,
                output_hidden_states=bool(local),
            )
            loss = output.loss
            if local:
                # The last layer's patch states, before the post-layernorm: what the VLM's connector reads.
                states = output.vision_model_output.hidden_states[-1]
                owners, values = train.owners[batch], train.values[batch]
            if dense is not None:
                loss = loss + config.dense_weight * dense.loss(states, owners, values)
            if code_fit is not None:
                loss = loss + config.code_weight * code_fit.loss(states, owners, values, train.backgrounds[batch])
            optimizer_step(optimizer, loss, trained.parameters())
            losses.append(loss.item())
            advance(note=f"loss {np.mean(losses[-20:]):.3f}")
    scores = retrieval(model, held_out)
    summary = {
        **scores,
        "twin_accuracy": twin_accuracy(model, twins),
        **({} if dense is None else {"dense_accuracy": dense_accuracy(model, dense, twins)}),
        **({} if code_fit is None else {"code_unexplained": code_unexplained(model, code_fit, twins)}),
        "chance_top1": 1 / config.eval_size,
        "chance_top5": min(5, config.eval_size) / config.eval_size,
        "eval_pairs": config.eval_size,
        "final_loss": float(np.mean(losses[-20:])),
        "seconds": round(time.perf_counter() - start, 1),
        "render_seconds": round(render_seconds, 1),
        "parameters": sum(p.numel() for p in model.vision_model.parameters()),
        "tokenizer": tokenizer_key(tokenizer),
    }
    with building(out, "encoder", config) as (tmp, finish):
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        return finish(**summary)
