"""A tiny random NLLB-architecture translator (M2M100 config, NLLB tokenizer with its language codes), built offline."""

from __future__ import annotations

import string
from pathlib import Path

CHARS = string.ascii_letters + string.digits + ".,!?'" + "éèàçüöäßñ"


def build_tiny_nllb(out: Path, *, stops_early: bool = False, seed: int = 0) -> Path:
    """Save a 2-layer M2M100 with a character-level NllbTokenizer (all NLLB language codes are tokens).

    ``stops_early``: make end-of-sequence the model's favourite token, and require 3 tokens first, so a
    translation is a few tokens long instead of running to the length bound (random weights never stop).
    """
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "▁": 4}
    for ch in CHARS:
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault("▁" + ch, len(vocab))
    tokenizer = NllbTokenizer(vocab=vocab, merges=[], src_lang="eng_Latn")
    config = M2M100Config(
        vocab_size=len(tokenizer),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=256,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    torch.manual_seed(seed)
    model = M2M100ForConditionalGeneration(config)
    if stops_early:
        with torch.no_grad():
            # A constant final hidden state pointing at the EOS embedding: EOS has the highest logit everywhere.
            norm = model.model.decoder.layer_norm
            eos = model.model.shared.weight[2]
            norm.weight.zero_()
            norm.bias.copy_(8 * eos / eos.norm())
        model.generation_config.min_new_tokens = 4  # the forced language token and 3 more
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
