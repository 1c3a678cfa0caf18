"""Packed attention without a block-diagonal mask: causal SDPA on each sample of a packed row.

Transformers attends across a packed row through a materialised (rows, 1, L, L) block-diagonal mask on SDPA,
which computes every masked-out pair and keeps PyTorch off its causal fast path; flash-attention's varlen
kernels, which skip them, exist only on GPUs. This is the varlen idea on any device: the row is cut where its
position ids restart, and each piece runs through ``scaled_dot_product_attention(is_causal=True)``. Attention
work drops from L^2 per row to the sum of the samples' lengths squared, halved by causality.

Registered with transformers' ``AttentionInterface`` as ``ayavision_packed_sdpa``; the trainer selects it for
the language model when it packs and the device has no flash-attention.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import AttentionInterface, AttentionMaskInterface
from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward
from transformers.masking_utils import sdpa_mask

PACKED_SDPA = "ayavision_packed_sdpa"


def segments(position_ids: torch.Tensor) -> list[list[tuple[int, int]]]:
    """Per row, the [start, end) spans of its samples: a span starts wherever the position id is 0."""
    rows = []
    for row in position_ids.tolist():
        starts = [i for i, p in enumerate(row) if p == 0] or [0]
        if starts[0] != 0:
            starts.insert(0, 0)
        rows.append(list(zip(starts, [*starts[1:], len(row)], strict=True)))
    return rows


def packed_sdpa_forward(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    position_ids = kwargs.get("position_ids")
    window = kwargs.get("sliding_window")
    q_len, kv_len = query.shape[2], key.shape[2]
    spans = segments(position_ids) if position_ids is not None and q_len == kv_len else None
    longest = max((end - start for row in spans or [] for start, end in row), default=0)
    if spans is None or (window is not None and longest > window) or kwargs.get("output_attentions"):
        # Decoding with a cache, no position ids, or a sample longer than a sliding window: the masked path.
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout, scaling, **kwargs)
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    p = dropout if module.training else 0.0
    rows = []
    for r, row_spans in enumerate(spans):
        pieces = [
            F.scaled_dot_product_attention(
                query[r : r + 1, :, start:end],
                key[r : r + 1, :, start:end],
                value[r : r + 1, :, start:end],
                dropout_p=p,
                is_causal=True,
                scale=scaling,
            )
            for start, end in row_spans
        ]
        rows.append(torch.cat(pieces, dim=2))
    output = torch.cat(rows, dim=0)
    return output.transpose(1, 2).contiguous(), None


AttentionInterface.register(PACKED_SDPA, packed_sdpa_forward)
# The mask is still built the SDPA way: the fallback above (decoding, long samples under a window) needs it.
AttentionMaskInterface.register(PACKED_SDPA, sdpa_mask)
