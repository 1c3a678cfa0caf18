"""A local objective beside the sigmoid loss: the patches under each object must tell its shape, colour and size.

SigLIP 2 adds local objectives to SigLIP's contrastive one (a LocCa decoder that captions regions and grounds
referring expressions, self-distillation, masked prediction) because a contrastive loss on whole images leaves
patch features poor at saying what is where, which a VLM reading those features needs. Here (measured, see
docs/world.md) the world's encoder trained on captions alone read shapes at chance from its patches. This is
the world's small analogue of region captioning: for each object a view shows, the mean of the last layer's
states over its patches (what the VLM's connector reads) goes through linear heads for each attribute. The heads
are dropped after pretraining, as SigLIP 2 drops its decoder. With ``dense_target: patch`` the heads read every
patch under an object instead of their mean, and one more head tells object patches from background ones, so each
image token must say on its own what it shows (measured on the demo in docs/demo/README.md: it did not help).

Heads that can *read* the attributes leave them in a corner of each state: measured with the lookup toy
(pretrain/learnability.py, docs/demo/README.md), a small LM learns to look objects up from the image tokens only
when the tokens essentially are the attribute code, and the shipped encoder's code explains 0.19 of its states'
variance. `CodeFit` asks for that directly: each patch state should be an affine function of its code (its owner's
attributes, "an object is here", the view's background), and the loss is the share of the variance left unexplained.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ayavision.world.pretrain.probe import SHUFFLE
from ayavision.world.pretrain.views import View, view_objects_per_patch
from ayavision.world.scene import Scene
from ayavision.world.vocab import BACKGROUND_COLOURS, OBJECT_COLOURS, POSITIONS, SHAPES, SIZES

ATTRIBUTES: dict[str, tuple[str, ...]] = {"shape": SHAPES, "colour": OBJECT_COLOURS, "size": SIZES}
MAX_OBJECTS = len(POSITIONS)
# A patch belongs to the object covering this share of it: small objects in a thumbnail cover little of any patch.
COVER = 0.1
CODE = sum(len(v) for v in ATTRIBUTES.values()) + 1  # one-hot attributes and "an object is here"


def region_targets(scene: Scene, view: View, size: int, patch: int) -> tuple[np.ndarray, np.ndarray]:
    """Which object each patch shows (0 none, i + 1 for object i) and each object's attribute ids (-1: no object)."""
    owners = view_objects_per_patch(scene, view, size, patch, COVER)
    values = np.full((MAX_OBJECTS, len(ATTRIBUTES)), -1, dtype=np.int8)
    for i, obj in enumerate(scene.objects):
        values[i] = [options.index(getattr(obj, name)) for name, options in ATTRIBUTES.items()]
    return owners, values


class RegionHeads(nn.Module):
    """Linear heads per attribute over each shown object's states: their mean (``per_patch`` False), or each patch
    under it, with one more head telling object patches from background ones (``per_patch`` True)."""

    def __init__(self, hidden_size: int, per_patch: bool = False) -> None:
        super().__init__()
        self.per_patch = per_patch
        self.heads = nn.ModuleList(nn.Linear(hidden_size, len(v)) for v in ATTRIBUTES.values())
        self.objectness = nn.Linear(hidden_size, 2) if per_patch else None

    def regions(
        self, states: torch.Tensor, owners: torch.Tensor, values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(regions x hidden) states the heads read, and (regions x attributes) the values they must tell."""
        if self.per_patch:
            scene, patch = (owners > 0).nonzero(as_tuple=True)
            return states[scene, patch], values[scene, owners[scene, patch].long() - 1].long()
        onehot = nn.functional.one_hot(owners.long(), MAX_OBJECTS + 1)[..., 1:].to(states.dtype)  # B x P x K
        counts = onehot.sum(1)  # B x K
        pooled = torch.einsum("bpk,bph->bkh", onehot, states) / counts.clamp(min=1)[..., None]
        shown = counts > 0
        return pooled[shown], values[shown].long()

    def loss(self, states: torch.Tensor, owners: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        pooled, targets = self.regions(states, owners, values)
        losses = []
        if len(targets):
            losses = [nn.functional.cross_entropy(head(pooled), targets[:, a]) for a, head in enumerate(self.heads)]
        if self.per_patch:
            is_object = (owners > 0).long().flatten()
            losses.append(nn.functional.cross_entropy(self.objectness(states).flatten(0, 1), is_object))
        return torch.stack(losses).sum() if losses else states.sum() * 0.0

    @torch.no_grad()
    def accuracy(self, states: torch.Tensor, owners: torch.Tensor, values: torch.Tensor) -> dict[str, float]:
        pooled, targets = self.regions(states, owners, values)
        return {
            name: (head(pooled).argmax(-1) == targets[:, a]).float().mean().item()
            for a, (name, head) in enumerate(zip(ATTRIBUTES, self.heads, strict=True))
        }


def patch_codes(owners: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """[..., patches, CODE] from region targets [..., patches] and [..., objects, attributes]: the one-hot attributes
    of each patch's owner and a last 1 for "an object is here"; zeros for background patches."""
    offsets = torch.tensor(np.cumsum([0, *(len(v) for v in ATTRIBUTES.values())])[:-1])
    owner = (owners.long() - 1).clamp(min=0)[..., None].expand(*owners.shape, values.shape[-1])
    index = torch.gather(values.long(), -2, owner).clamp(min=0) + offsets
    codes = torch.zeros(*owners.shape, CODE).scatter_(-1, index, 1.0)
    codes[..., -1] = 1.0
    return codes * (owners > 0)[..., None]


class CodeFit(nn.Module):
    """A map from each patch's code and its view's background to its state; `loss` is the share of the states'
    variance it leaves unexplained (1 - R squared), so the encoder learns states the code explains.

    ``form`` says what the map may be:
    - ``share``: a free affine map. Measured (docs/demo/README.md), the encoder then meets the loss by varying almost
      only with the background, which the map explains for free.
    - ``balanced``: the states scaled to unit variance and every column of the map the same length, meant to make
      each active part of the code an equal share of the state; measured, the columns of shape, colour and size then
      point where "an object is here" points, and the attributes explain almost nothing either.
    - ``fixed``: the map is not learned: every part of the code (each shape, colour, size, "an object is here" and
      each background) has its own fixed random direction, orthogonal to the others, and only one common scale and
      an offset are learned. The state can then only meet the loss by holding every attribute, each at the same size:
      a background-only state leaves the attributes' directions unexplained. ``background`` sets the length of the
      background's directions (the objects' parts have length 1): in every patch at full length, the background
      holds most of the states' variance.

    ``background_on`` ``background`` (any form) gives the background's part of the code only to patches no object
    owns, so an object's patches hold its attributes alone.

    ``target`` ``block`` fits every patch to the mean code of the 2 x 2 patches the pixel shuffle concatenates into
    one image token, so the four slots of a token hold the same state: measured with the lookup toy, concatenated
    slots that differ are learnt from far more slowly than their mean.
    """

    def __init__(
        self,
        hidden_size: int,
        form: str = "share",
        seed: int = 0,
        background: float = 1.0,
        background_on: str = "all",
        target: str = "patch",
    ) -> None:
        super().__init__()
        self.form = form
        self.background_on = background_on
        self.target = target
        width = CODE + len(BACKGROUND_COLOURS)
        self.fit = nn.Linear(width, hidden_size)
        if form == "fixed":
            if hidden_size < width:
                raise ValueError(f"the fixed code fit needs hidden_size >= {width} orthogonal directions")
            generator = torch.Generator().manual_seed(seed)
            directions, _ = torch.linalg.qr(torch.randn(hidden_size, width, generator=generator))
            lengths = torch.ones(width)
            lengths[CODE:] = background  # the background's directions may be shorter than the objects' parts
            self.register_buffer("directions", directions.T * lengths[:, None])  # width x hidden, orthogonal rows
            self.scale = nn.Parameter(torch.ones(()))

    def loss(
        self, states: torch.Tensor, owners: torch.Tensor, values: torch.Tensor, backgrounds: torch.Tensor
    ) -> torch.Tensor:
        code = self.codes(owners, values, backgrounds).to(states.dtype)
        centred = states - states.mean((0, 1))
        total = centred.pow(2).mean()
        if self.form == "share":
            return (states - self.fit(code)).pow(2).mean() / total
        if self.form == "fixed":
            return (states - self.scale * code @ self.directions - self.fit.bias).pow(2).mean() / total
        # An object patch has four active parts: columns of length 1/2 make them the state's unit spread together.
        unit = centred / (total * states.shape[-1]).sqrt()
        weight = 0.5 * self.fit.weight / self.fit.weight.norm(dim=0, keepdim=True)
        return (unit - nn.functional.linear(code, weight, self.fit.bias)).pow(2).sum(-1).mean()

    def codes(self, owners: torch.Tensor, values: torch.Tensor, backgrounds: torch.Tensor) -> torch.Tensor:
        """[views, patches, width]: what each patch state is fitted to (its code and its view's background)."""
        background = nn.functional.one_hot(backgrounds.long(), len(BACKGROUND_COLOURS)).float()
        background = background[:, None].expand(-1, owners.shape[1], -1)
        if self.background_on == "background":
            background = background * (owners == 0)[..., None]
        code = torch.cat([patch_codes(owners, values), background], -1)
        if self.target == "block":
            code = block_mean(code)
        return code


def block_mean(patches: torch.Tensor) -> torch.Tensor:
    """[views, patches, d] with each patch replaced by the mean of its SHUFFLE x SHUFFLE block (row-major patches)."""
    views, count, width = patches.shape
    side, n = int(count**0.5), int(count**0.5) // SHUFFLE
    blocks = patches.reshape(views, n, SHUFFLE, n, SHUFFLE, width).mean((2, 4), keepdim=True)
    return blocks.expand(-1, -1, SHUFFLE, -1, SHUFFLE, -1).reshape(views, side * side, width)
