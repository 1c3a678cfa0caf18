"""The copying lesson of the text LLM: random token spans said twice, learnt on the repeat.

A real LLM learns from natural text to continue a pattern it saw earlier in its context (the "induction heads"
of Olsson et al., 2022), and every lookup it later does in a prompt rests on that. The tiny text LLM had no such
text: trained 1,500 steps on the world's tasks it could not repeat a span at all (the second copy of a random span
as unpredictable as the first), and it answered "what colour is the background?" about a description stating it at
the level of a guess. A few hundred steps on repeated spans, before and beside its lessons, give it the mechanism
(docs/world.md, "The copying lesson").
"""

from __future__ import annotations

import random

import torch

# Special tokens sit at the start of the world tokenizer's vocabulary; spans are drawn from the words after them.
FIRST_WORD_ID = 10


def copy_row(rng: random.Random, vocab_size: int, bos: int, shortest: int = 8, longest: int = 32):
    """(ids, mask): BOS, a random span, the same span again; only the repeat is learnt."""
    span = [rng.randrange(FIRST_WORD_ID, vocab_size) for _ in range(rng.randint(shortest, longest))]
    return [bos, *span, *span], [0] * (1 + len(span)) + [1] * len(span)


def copy_rows(seed: int, step: int, count: int, vocab_size: int, bos: int) -> list[tuple[list[int], list[int]]]:
    """The ``count`` copying rows of a training step (their own random stream: the other rows do not move)."""
    rng = random.Random(f"copy/{seed}/{step}")
    return [copy_row(rng, vocab_size, bos) for _ in range(count)]


@torch.no_grad()
def copy_loss(model, vocab_size: int, bos: int, spans: int = 32, length: int = 40, seed: int = 5) -> dict[str, float]:
    """Mean loss (nats per token) on the first and second said of random spans: a model that copies has a far lower
    second; one that does not, the same two."""
    rng = random.Random(f"copy-probe/{seed}")
    first, second = [], []
    model.eval()
    for _ in range(spans):
        span = [rng.randrange(FIRST_WORD_ID, vocab_size) for _ in range(length)]
        ids = torch.tensor([[bos, *span, *span]])
        logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)
        nll = -logp[torch.arange(ids.shape[1] - 1), ids[0, 1:]]
        first.append(float(nll[:length].mean()))
        second.append(float(nll[length + 1 :].mean()))
    model.train()
    return {"first": round(sum(first) / spans, 3), "repeat": round(sum(second) / spans, 3)}
