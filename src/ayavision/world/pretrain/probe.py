"""Linear probes on a world encoder's patch states: can each layer tell the colour, shape and size of an object?

Each scene is seen as the VLM's thumbnail tile sees it (the whole image squeezed to the encoder's size). For every
object the states of the patches over its grid cell are read at every layer (mean over the cell; and the 3 x 3
patches around it concatenated), and a ridge-regularised softmax probe trained on some scenes is scored on others.
A property no layer's probe can read is one the connector and LLM cannot be expected to learn from a frozen encoder.
Two more features are what one image token of the VLM holds: the 2 x 2 patches that the connector's pixel shuffle
concatenates into one token, taken where the object covers most of the token ("token") and least ("edge token").
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ayavision.world.render import render_mask, render_scene
from ayavision.world.scene import SceneConfig, column, row, sample_scene, seeded_rng
from ayavision.world.vocab import OBJECT_COLOURS, SHAPES, SIZES

TARGETS = {"colour": OBJECT_COLOURS, "shape": SHAPES, "size": SIZES}
FEATURES = ("mean", "3x3", "token", "edge token")
SHUFFLE = 2  # the demo's connector.downsample_factor: one image token is 2 x 2 patches


@torch.no_grad()
def object_features(encoder, n: int, split: str) -> tuple[dict[str, list[torch.Tensor]], dict[str, torch.Tensor]]:
    """Per object of ``n`` scenes: its cell's features at every layer (by kind) and its colour, shape and size."""
    layers = encoder.config.num_hidden_layers + 1
    side = encoder.config.image_size // encoder.config.patch_size
    out: dict[str, list[list[torch.Tensor]]] = {kind: [[] for _ in range(layers)] for kind in FEATURES}
    labels: dict[str, list[int]] = {name: [] for name in TARGETS}
    for i in range(n):
        scene = sample_scene(seeded_rng(7, "probe", split, i), f"probe-{i}", SceneConfig())
        image = render_scene(scene, (scene.width, scene.height)).convert("RGB")
        image = image.resize((encoder.config.image_size,) * 2, Image.Resampling.BICUBIC)
        pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
        hidden = encoder(pixel_values=pixels, output_hidden_states=True).hidden_states
        grids = [states[0].reshape(side, side, -1) for states in hidden]
        tokens = [shuffled_tokens(grid) for grid in grids]
        cover = _token_cover(scene, encoder.config.image_size, side // SHUFFLE)
        for index, obj in enumerate(scene.objects):
            r, c = row(obj.position), column(obj.position)
            y0, y1 = int(r * side / 3), int(np.ceil((r + 1) * side / 3))
            x0, x1 = int(c * side / 3), int(np.ceil((c + 1) * side / 3))
            wy, wx = min(y0, side - 3), min(x0, side - 3)
            most, least = _most_and_least_covered(cover[index + 1])
            for layer, (grid, token) in enumerate(zip(grids, tokens, strict=True)):
                out["mean"][layer].append(grid[y0:y1, x0:x1].reshape(-1, grid.shape[-1]).mean(0))
                out["3x3"][layer].append(grid[wy : wy + 3, wx : wx + 3].reshape(-1))
                out["token"][layer].append(token[most])
                out["edge token"][layer].append(token[least])
            for name, values in TARGETS.items():
                labels[name].append(values.index(getattr(obj, name)))
    stacked = {kind: [torch.stack(v) for v in per_layer] for kind, per_layer in out.items()}
    return stacked, {name: torch.tensor(v) for name, v in labels.items()}


def _token_cover(scene, size: int, tokens: int) -> np.ndarray:
    """Share of each image token's pixels that each object covers: [object index + 1, token row, token column]."""
    mask = np.asarray(render_mask(scene).resize((size, size), Image.Resampling.NEAREST))
    step = size // tokens
    onehot = mask[None] == np.arange(len(scene.objects) + 1)[:, None, None]
    return onehot.reshape(-1, tokens, step, tokens, step).mean((2, 4))


def _most_and_least_covered(cover: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    """The token an object covers most, and the one it covers least among those it touches (the most, if none)."""
    most = np.unravel_index(cover.argmax(), cover.shape)
    touched = np.where(cover > 0, cover, np.inf)
    least = np.unravel_index(touched.argmin(), cover.shape) if np.isfinite(touched).any() else most
    return (int(most[0]), int(most[1])), (int(least[0]), int(least[1]))


def shuffled_tokens(grid: torch.Tensor) -> torch.Tensor:
    """Patch states [side, side, d] as the connector's image tokens: each SHUFFLE x SHUFFLE block concatenated.

    The grouping of transformers' ``AyaVisionMultiModalProjector.pixel_shuffle``; the order of the concatenated
    channels differs, which a linear probe does not see. That method needs a built projector, hence this one.
    """
    side, d = grid.shape[0], grid.shape[-1]
    n = side // SHUFFLE
    return grid.reshape(n, SHUFFLE, n, SHUFFLE, d).permute(0, 2, 1, 3, 4).reshape(n, n, SHUFFLE * SHUFFLE * d)


def probe_accuracy(
    train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor, classes: int
) -> float:
    """Held-out accuracy of a softmax probe fitted with L-BFGS and a small ridge penalty on standardised features."""
    k = classes
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    weight = torch.zeros(train_x.shape[1], k, requires_grad=True)
    bias = torch.zeros(k, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=200)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(train_x @ weight + bias, train_y) + 1e-3 * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return ((test_x @ weight + bias).argmax(1) == test_y).float().mean().item()


def probe_encoder(encoder, train_scenes: int = 600, test_scenes: int = 200) -> dict[str, dict[str, list[float]]]:
    """Probe accuracy per property, feature kind and layer (layer 0 is the patch embedding, the last what the VLM
    reads)."""
    torch.manual_seed(0)
    encoder.eval()
    train_x, train_y = object_features(encoder, train_scenes, "train")
    test_x, test_y = object_features(encoder, test_scenes, "test")
    return {
        name: {
            kind: [
                probe_accuracy(train_x[kind][i], train_y[name], test_x[kind][i], test_y[name], len(TARGETS[name]))
                for i in range(len(train_x[kind]))
            ]
            for kind in FEATURES
        }
        for name in TARGETS
    }
