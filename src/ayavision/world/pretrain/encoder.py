"""A tiny SigLIP pretrained on world image-caption pairs with SigLIP's sigmoid loss, scored by retrieval."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ayavision.world.cache import building
from ayavision.world.pretrain.common import (
    lr_at,
    make_optimizer,
    reusable,
    seed_everything,
    set_lr,
    set_threads,
    tokenizer_key,
)
from ayavision.world.pretrain.configs import EncoderConfig
from ayavision.world.pretrain.tokenizer import load_world_tokenizer
from ayavision.world.progress import progress_bar
from ayavision.world.render import render_scene
from ayavision.world.scene import Scene, SceneConfig, sample_scene, seeded_rng
from ayavision.world.vocab import CELLS

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


def encoder_caption(scene: Scene) -> str:
    """A caption naming everything the encoder should see: each object's size, colour, shape and place."""
    objects = sorted(scene.objects, key=lambda o: CELLS[o.position])
    parts = [
        f"{'medium' if o.size == 'medium' else o.size} {o.colour} {o.shape} at {_POSITION_WORDS[o.position]}"
        for o in objects
    ]
    text = ", ".join(parts) + f"; {scene.background} {scene.pattern} background"
    if scene.text is not None:
        text += f"; the word {scene.text.text}"
    return text


def thumbnail(scene: Scene, size: int) -> np.ndarray:
    """The scene as the VLM's thumbnail tile sees it: drawn at half its size, squeezed to size x size (bicubic)."""
    image = render_scene(scene, (max(size, scene.width // 2), max(size, scene.height // 2)))
    return np.asarray(image.resize((size, size), Image.Resampling.BICUBIC), dtype=np.uint8)


def _pairs(config: EncoderConfig, split: str, n: int, tokenizer) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    scenes = [
        sample_scene(seeded_rng(config.seed, "encoder", split, i), f"e{i}", SceneConfig(), with_text=i % 8 == 0)
        for i in range(n)
    ]
    images = torch.from_numpy(np.stack([thumbnail(s, config.image_size) for s in scenes])).permute(0, 3, 1, 2)
    captions = [encoder_caption(s) for s in scenes]
    ids = tokenizer(
        captions, padding="max_length", truncation=True, max_length=config.text_length, add_special_tokens=False
    )
    return images.contiguous(), torch.tensor(ids["input_ids"]), captions


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
def retrieval(model, images: torch.Tensor, ids: torch.Tensor, captions: list[str]) -> dict[str, float]:
    """Top-1 image->caption and caption->image accuracy over the held-out pairs (identical captions count)."""
    model.eval()
    image_emb = torch.cat(
        [
            _features(model.get_image_features(pixel_values=_pixels(images[i : i + 128])))
            for i in range(0, len(images), 128)
        ]
    )
    text_emb = torch.cat(
        [_features(model.get_text_features(input_ids=ids[i : i + 128])) for i in range(0, len(ids), 128)]
    )
    image_emb = torch.nn.functional.normalize(image_emb, dim=-1)
    text_emb = torch.nn.functional.normalize(text_emb, dim=-1)
    sims = image_emb @ text_emb.T
    same = torch.tensor([[a == b for b in captions] for a in captions])
    i2t = same[torch.arange(len(captions)), sims.argmax(dim=1)].float().mean().item()
    t2i = same[sims.argmax(dim=0), torch.arange(len(captions))].float().mean().item()
    top5 = sims.topk(min(5, len(captions)), dim=1).indices
    i2t5 = torch.stack([same[i, top5[i]].any() for i in range(len(captions))]).float().mean().item()
    model.train()
    return {"image_to_text_top1": i2t, "text_to_image_top1": t2i, "image_to_text_top5": i2t5}


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
    train_images, train_ids, _ = _pairs(config, "train", config.pool, tok)
    eval_images, eval_ids, eval_captions = _pairs(config, "eval", config.eval_size, tok)
    render_seconds = time.perf_counter() - start
    model = build_siglip(config, len(tok), tok.pad_token_id)
    optimizer = make_optimizer(model, config.lr, config.weight_decay)
    rng = np.random.default_rng(config.seed)
    losses = []
    with progress_bar("pretraining the SigLIP encoder", config.steps, enabled=progress) as advance:
        for step in range(config.steps):
            set_lr(optimizer, lr_at(step, config.steps, config.lr, config.warmup))
            batch = torch.from_numpy(rng.choice(len(train_images), config.batch_size, replace=False))
            loss = model(input_ids=train_ids[batch], pixel_values=_pixels(train_images[batch]), return_loss=True).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
            advance(note=f"loss {np.mean(losses[-20:]):.3f}")
    scores = retrieval(model, eval_images, eval_ids, eval_captions)
    summary = {
        **scores,
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
