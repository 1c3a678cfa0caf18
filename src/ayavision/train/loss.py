"""The training forward pass: hidden states, then the output head only where a token is supervised."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ayavision.train.samples import IGNORE

# Supervised positions go through the head in chunks: a 256k vocabulary times 8k positions in fp32 is 8 GB.
HEAD_CHUNK = 4096


class SupervisedLM(nn.Module):
    """Wraps an AyaVision model so DDP/FSDP see one module whose forward returns per-token losses.

    Computing logits only at supervised positions (assistant tokens) skips the head on image and
    prompt tokens, which are most of a multimodal sequence.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    @property
    def _no_split_modules(self) -> list[str] | None:
        # FSDP's transformer wrap policy reads this when a launch config names no layer classes: each decoder and
        # encoder layer of whichever LLM and vision tower the model has becomes its own shard unit.
        names = getattr(self._vlm(), "_no_split_modules", None)
        return sorted(names) if names else None

    def _vlm(self) -> nn.Module:
        # A peft model wraps the AyaVision model; LoRA layers live inside it, so its submodules are the ones to call.
        inner = self.model
        return inner.get_base_model() if hasattr(inner, "get_base_model") else inner

    def forward(
        self,
        input_ids: torch.Tensor,
        position_ids: torch.Tensor,
        targets: torch.Tensor,
        pixel_values: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Per-token cross-entropy (fp32) at the supervised positions, in row-major order."""
        vlm = self._vlm()
        hidden = vlm.model(
            input_ids=input_ids,
            pixel_values=pixel_values,
            position_ids=position_ids,
            attention_mask=None,
            use_cache=False,
        ).last_hidden_state
        supervised = targets != IGNORE
        selected = hidden[supervised]
        labels = targets[supervised]
        # The LLM's own logit scale (Cohere's; 1.0 for others, see model/compat.py): the function the LLM was trained
        # as, and what vLLM and transformers >= 5.25 compute at inference.
        scale = float(getattr(vlm.config.get_text_config(), "logit_scale", None) or 1.0)
        losses = []
        for start in range(0, selected.shape[0], HEAD_CHUNK):
            logits = vlm.lm_head(selected[start : start + HEAD_CHUNK]).float() * scale
            losses.append(F.cross_entropy(logits, labels[start : start + HEAD_CHUNK], reduction="none"))
        if not losses:
            return hidden.new_zeros(0, dtype=torch.float32) + 0.0 * hidden.sum()
        return torch.cat(losses)


def per_sample_losses(
    token_losses: torch.Tensor, targets: torch.Tensor, sample_index: torch.Tensor
) -> dict[int, float]:
    """Mean loss of each sample of a batch: what must not change whether samples are packed or not."""
    owners = sample_index[targets != IGNORE]
    result = {}
    for owner in owners.unique().tolist():
        result[owner] = float(token_losses[owners == owner].mean())
    return result


# The exponent p of each weighting: a sample with n supervised tokens gives each of them a weight proportional to n**-p.
WEIGHTING_EXPONENT = {"token": 0.0, "square": 0.5, "sample": 1.0}


def token_weights(supervised_counts: list[int], owners: torch.Tensor, weighting: str, total: float) -> torch.Tensor:
    """The loss weight of each supervised token of a micro-batch, in the order SupervisedLM returns its losses.

    ``supervised_counts[i]``: supervised tokens of the micro-batch's sample i; ``owners``: the sample of each supervised
    token (``sample_index[targets != IGNORE]``); ``total``: :func:`weight_total` over the whole global batch, so the
    weights of every process and micro-batch together sum to 1 whatever the split.
    """
    power = WEIGHTING_EXPONENT[weighting]
    weights = [n**-power if n else 0.0 for n in supervised_counts]
    per_sample = torch.tensor(weights, dtype=torch.float32, device=owners.device)  # on the losses' device
    return per_sample[owners] / total


def weight_total(supervised_counts: list[int], weighting: str) -> float:
    """The sum over a global batch of n * n**-p: the normaliser that makes its token weights sum to 1."""
    power = WEIGHTING_EXPONENT[weighting]
    return max(1e-12, sum(n ** (1 - power) for n in supervised_counts if n))
