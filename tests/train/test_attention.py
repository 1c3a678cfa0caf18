"""Packed attention: per-sample causal SDPA equals one SDPA pass with the block-diagonal causal mask."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ayavision.train.attention import packed_sdpa_forward, segments


class _Attn(torch.nn.Module):
    num_key_value_groups = 2


class _PlainAttn(torch.nn.Module):
    num_key_value_groups = 1


def _block_causal_mask(position_ids: torch.Tensor) -> torch.Tensor:
    owner = torch.cumsum(position_ids == 0, dim=1)
    length = position_ids.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool).tril()
    return (owner[:, :, None] == owner[:, None, :]) & causal  # (rows, L, L)


def test_segments_start_where_positions_restart():
    ids = torch.tensor([[0, 1, 2, 0, 1, 0], [0, 1, 2, 3, 4, 5]])
    assert segments(ids) == [[(0, 3), (3, 5), (5, 6)], [(0, 6)]]


def test_per_sample_attention_matches_the_masked_pass_with_grouped_heads():
    torch.manual_seed(0)
    position_ids = torch.tensor([[0, 1, 2, 3, 0, 1, 2, 0, 1, 0], [0, 1, 2, 3, 4, 5, 6, 0, 1, 2]])
    query = torch.randn(2, 4, 10, 8, requires_grad=True)
    key = torch.randn(2, 2, 10, 8, requires_grad=True)
    value = torch.randn(2, 2, 10, 8, requires_grad=True)
    ours, _ = packed_sdpa_forward(_Attn(), query, key, value, None, scaling=0.3, position_ids=position_ids)
    mask = _block_causal_mask(position_ids)[:, None]
    expected = F.scaled_dot_product_attention(
        query, key.repeat_interleave(2, dim=1), value.repeat_interleave(2, dim=1), attn_mask=mask, scale=0.3
    ).transpose(1, 2)
    torch.testing.assert_close(ours, expected, atol=1e-6, rtol=1e-5)
    grads = torch.autograd.grad(ours.square().sum(), (query, key, value))
    expected_grads = torch.autograd.grad(expected.square().sum(), (query, key, value))
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_a_sample_longer_than_the_sliding_window_takes_the_masked_path():
    position_ids = torch.arange(6)[None]
    query, key, value = (torch.randn(1, 2, 6, 4) for _ in range(3))
    window_mask = _block_causal_mask(position_ids) & (
        torch.arange(6)[:, None] - torch.arange(6)[None, :] < 3
    )  # each token sees itself and the 2 before
    ours, _ = packed_sdpa_forward(
        _PlainAttn(), query, key, value, window_mask[:, None], position_ids=position_ids, sliding_window=3
    )
    unwindowed, _ = packed_sdpa_forward(_PlainAttn(), query, key, value, None, position_ids=position_ids)
    expected = F.scaled_dot_product_attention(query, key, value, attn_mask=window_mask[:, None]).transpose(1, 2)
    torch.testing.assert_close(ours, expected)
    assert not torch.allclose(ours, unwindowed)
