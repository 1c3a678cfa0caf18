"""How fast a fresh tiny LM learns to look a named object up among image tokens, by what the tokens hold.

The demo's VLM reads whole-image properties but not the object a question names (`docs/demo/README.md`). This toy
separates the token representation from everything else: a fresh 3-layer Cohere2 of the text LLM's shape and a
fresh LayerNorm + linear connector read one image's tokens, then two question tokens (the question's kind and the
shape or colour it names), and predict the one-word answer at the last of them. Questions are the five named-object
kinds of `world-vqa` in English; the views are the demo's (up to 2 tiles of 96 px and a thumbnail).

Token kinds (`TOKENS`), each per 8-px patch:
- ``truth``: the one-hot shape, colour and size of the object owning the patch, and whether one does (17 numbers,
  from the renderer's masks): what a perfect encoder could say;
- ``encoder``: the shipped encoder's last hidden state, as `aya_vision` selects it (96 numbers);
- ``probe``: those states through a least-squares map onto the ``truth`` code, fitted on the training scenes;
- ``both``: the ``truth`` code and the encoder's state side by side (what an encoder that also hands over a clean code
  in some of its channels would give).

Patches become tokens as the connector receives them (``concat``: 2 x 2 patches concatenated, the pixel shuffle) or
averaged (``pooled``); ``tied`` starts the connector's weights equal across the four concatenated patches.
Hand-written rather than a trainer run: the point is a model with nothing but these tokens and questions.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import numpy as np
import torch
from transformers import Cohere2Config, Cohere2ForCausalLM, SiglipVisionModel
from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import get_optimal_tiled_canvas

from ayavision.world.config import DatasetConfig
from ayavision.world.dataset import make_item
from ayavision.world.pretrain.dense import ATTRIBUTES, CODE, patch_codes, region_targets
from ayavision.world.pretrain.probe import SHUFFLE, shuffled_tokens
from ayavision.world.pretrain.views import View, view_pixels
from ayavision.world.scene import Scene
from ayavision.world.tasks import original_answer

FRAMES = ("ask_colour", "ask_shape_by_colour", "ask_size", "ask_where", "ask_exists")
TOKENS = ("truth", "encoder", "probe", "both")
TILE, MAX_TILES, PATCH = 96, 2, 8  # recipes/demo.yaml's tiling and the shipped encoder's patch


@dataclass(frozen=True)
class LookupQuestion:
    scene: Scene
    frame: str
    named: str  # the shape or colour the question names
    answer: str


def lookup_questions(n: int, seed: int) -> list[LookupQuestion]:
    """The named-object questions among ``n`` English vqa items of the world's generator."""
    config = DatasetConfig(n=n, seed=seed, tasks=["vqa"], languages=["eng_Latn"])
    out = []
    for index in range(n):
        scenes, questions, _, _ = make_item(config, index)
        q = questions[0]
        if q.frame in FRAMES:
            named = q.slots.get("a") or q.slots.get("c")
            out.append(LookupQuestion(scenes[0], q.frame, str(named), original_answer(q, scenes)))
    return out


def views(scene: Scene) -> list[View]:
    """The processor's views: the tiles (when the canvas has more than one) and the thumbnail, in its order."""
    cols, rows = get_optimal_tiled_canvas((scene.height, scene.width), (TILE, TILE), 1, MAX_TILES)
    tiles = [View(cols, rows, t) for t in range(cols * rows)] if cols * rows > 1 else []
    return [*tiles, View()]


def truth_codes(scene: Scene, view: View) -> torch.Tensor:
    """[patches, CODE]: the attributes of the object owning each patch of the view (zeros for the background); the
    owners and attribute ids are the encoder's region targets."""
    owners, values = region_targets(scene, view, TILE, PATCH)
    return patch_codes(torch.from_numpy(owners), torch.from_numpy(values))


@torch.no_grad()
def encoder_states(encoder: SiglipVisionModel, scene: Scene) -> torch.Tensor:
    """[views, patches, d]: the encoder's last hidden state per view, as the VLM's vision tower hands it over."""
    pixels = np.stack([view_pixels(scene, v, TILE) for v in views(scene)]).astype(np.float32) / 127.5 - 1
    hidden = encoder(pixel_values=torch.from_numpy(pixels).permute(0, 3, 1, 2), output_hidden_states=True)
    return hidden.hidden_states[-1]


def patch_features(questions: list[LookupQuestion], kind: str, encoder: SiglipVisionModel | None) -> list[torch.Tensor]:
    """Per question, [views, patches, d] of the given kind (``probe`` is made from ``encoder`` by `fit_probe`)."""
    if kind == "truth":
        return [torch.stack([truth_codes(q.scene, v) for v in views(q.scene)]) for q in questions]
    if kind != "encoder" or encoder is None:
        raise ValueError(f"patch_features makes 'truth', or 'encoder' given an encoder; not {kind!r}")
    return [encoder_states(encoder, q.scene) for q in questions]


def fit_probe(states: list[torch.Tensor], truth: list[torch.Tensor], ridge: float = 1e-2) -> torch.Tensor:
    """Least-squares map [d + 1, CODE] from patch states (with a bias) onto their truth codes."""
    x = torch.cat([s.reshape(-1, s.shape[-1]) for s in states])
    x = torch.cat([x, torch.ones(len(x), 1)], 1)
    y = torch.cat([t.reshape(-1, CODE) for t in truth])
    return torch.linalg.solve(x.T @ x + ridge * torch.eye(x.shape[1]), x.T @ y)


def _stacked(states: list[torch.Tensor], truth: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """All patch states and their truth codes as two float64 matrices (float32 least squares goes wrong here)."""
    y = torch.cat([s.reshape(-1, s.shape[-1]) for s in states]).double()
    return y, torch.cat([t.reshape(-1, CODE) for t in truth]).double()


def _r_squared(y: torch.Tensor, x: torch.Tensor) -> float:
    x = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1)
    # An SVD solver: the code's columns are collinear (each attribute's one-hots sum to "an object is here"), and on
    # half a million patches the default rank-revealing QR gave wrong fits.
    residual = y - x @ torch.linalg.lstsq(x, y, driver="gelsd").solution
    return 1 - residual.var(0).sum().item() / y.var(0).sum().item()


def code_share(states: list[torch.Tensor], truth: list[torch.Tensor]) -> float:
    """Share of the patch states' variance that a linear function of their truth code explains (R squared)."""
    return _r_squared(*_stacked(states, truth))


def code_share_by_attribute(states: list[torch.Tensor], truth: list[torch.Tensor]) -> dict[str, float]:
    """`code_share` of the whole code, and per attribute the share only it explains (what dropping its columns
    loses): a state can be explained by its code and still vary almost only with one part of it."""
    y, x = _stacked(states, truth)
    whole = _r_squared(y, x)
    shares = {"code": whole}
    start = 0
    for name, options in ATTRIBUTES.items():
        others = [c for c in range(CODE) if not start <= c < start + len(options)]
        shares[name] = whole - _r_squared(y, x[:, others])
        start += len(options)
    return shares


def shrink_directions(states: torch.Tensor, directions: torch.Tensor, length: float) -> torch.Tensor:
    """``states`` with their component along the orthogonal rows of ``directions`` scaled by ``length`` (0 removes
    it): e.g. the background's directions of a fixed code fit (`dense.CodeFit`), to see what it hides."""
    unit = directions / directions.norm(dim=-1, keepdim=True)
    return states - (1 - length) * (states @ unit.T) @ unit


def apply_probe(states: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return torch.cat([states, torch.ones(*states.shape[:-1], 1)], -1) @ weight


def image_tokens(features: torch.Tensor, pooled: bool) -> torch.Tensor:
    """[views * tokens, 4d] (the pixel shuffle's grouping) or [views * tokens, d] (the 4 patches averaged)."""
    side = int(features.shape[1] ** 0.5)
    tokens = torch.stack([shuffled_tokens(f.reshape(side, side, -1)) for f in features])
    tokens = tokens.reshape(-1, tokens.shape[-1])
    if pooled:
        tokens = tokens.reshape(len(tokens), SHUFFLE * SHUFFLE, -1).mean(1)
    return tokens


@dataclass
class ToyResult:
    steps: list[int]
    accuracy: list[float]
    per_kind: list[dict[str, float]]
    seconds: float


def train_toy(
    train: list[tuple[torch.Tensor, LookupQuestion]],
    held_out: list[tuple[torch.Tensor, LookupQuestion]],
    llm_config: Cohere2Config,
    *,
    steps: int = 400,
    batch: int = 64,
    lr: float = 2e-3,
    tied: bool = False,
    every: int = 50,
    seed: int = 0,
) -> ToyResult:
    """Train the toy on (image tokens, question) pairs; held-out accuracy per kind every ``every`` steps."""
    torch.manual_seed(seed)
    words = sorted({w for _, q in train + held_out for w in (q.frame, q.named, q.answer)})
    word_id = {w: i + 1 for i, w in enumerate(words)}  # 0 pads
    config = Cohere2Config(**{**llm_config.to_dict(), "vocab_size": len(words) + 1, "pad_token_id": 0})
    config.bos_token_id = config.eos_token_id = None
    model = Cohere2ForCausalLM(config)
    width, hidden = train[0][0].shape[-1], config.hidden_size
    connector = torch.nn.Sequential(torch.nn.LayerNorm(width), torch.nn.Linear(width, hidden))
    if tied:  # the same weights for each of the four concatenated patches, scaled to keep the output's size
        with torch.no_grad():
            block = connector[1].weight[:, : width // 4].clone()
            connector[1].weight.copy_(block.repeat(1, 4) / 2)
    params = [*model.parameters(), *connector.parameters()]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, betas=(0.9, 0.95))
    embed = model.get_input_embeddings()

    def forward(items: list[tuple[torch.Tensor, LookupQuestion]]) -> tuple[torch.Tensor, torch.Tensor]:
        rows = [torch.cat([connector(t), embed(torch.tensor([word_id[q.frame], word_id[q.named]]))]) for t, q in items]
        length = max(len(r) for r in rows)
        # left padding keeps every answer position last; padded positions are masked out of attention
        x = torch.stack([torch.cat([torch.zeros(length - len(r), hidden), r]) for r in rows])
        mask = torch.stack([torch.arange(length) >= length - len(r) for r in rows]).long()
        logits = model(inputs_embeds=x, attention_mask=mask).logits[:, -1]
        return logits, torch.tensor([word_id[q.answer] for _, q in items])

    rng = random.Random(seed)
    result = ToyResult([], [], [], 0.0)
    start = time.perf_counter()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / 10)
        logits, target = forward(rng.sample(train, batch))
        loss = torch.nn.functional.cross_entropy(logits, target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        if (step + 1) % every == 0:
            result.steps.append(step + 1)
            correct = evaluate(forward, held_out)
            result.accuracy.append(float(np.mean([c for cs in correct.values() for c in cs])))
            result.per_kind.append({k: float(np.mean(v)) for k, v in sorted(correct.items())})
    result.seconds = time.perf_counter() - start
    return result


@torch.no_grad()
def evaluate(forward, held_out: list[tuple[torch.Tensor, LookupQuestion]]) -> dict[str, list[bool]]:
    correct: dict[str, list[bool]] = {}
    for i in range(0, len(held_out), 100):
        chunk = held_out[i : i + 100]
        logits, target = forward(chunk)
        for (_, q), ok in zip(chunk, (logits.argmax(-1) == target).tolist(), strict=True):
            correct.setdefault(q.frame, []).append(ok)
    return correct
