"""Merge methods as per-tensor weights on the two inputs: W = w_vlm * W_vlm + w_text * W_text, computed in fp32."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from ayavision.merge.errors import MergeError


@dataclass(frozen=True)
class TensorStats:
    """Sums over the elements both inputs share, for methods whose weights depend on the whole tensor."""

    dot: float
    vlm_square: float
    text_square: float


class MergeMethod(Protocol):
    name: str
    needs_stats: bool

    def weights(self, alpha: float, stats: TensorStats | None) -> tuple[float, float]:
        """(w_vlm, w_text) for one tensor; ``alpha`` is the share of the VLM (1 = the VLM unchanged)."""
        ...


@dataclass(frozen=True)
class Linear:
    """The paper's cross-modal merge: W = alpha * W_vlm + (1 - alpha) * W_text."""

    name: str = "linear"
    needs_stats: bool = False

    def weights(self, alpha: float, stats: TensorStats | None) -> tuple[float, float]:
        return alpha, 1.0 - alpha


@dataclass(frozen=True)
class Slerp:
    """Spherical interpolation of each tensor (flattened) from the text LLM (alpha 0) to the VLM (alpha 1).

    The angle needs one pass over the tensor before the merge pass; nearly parallel tensors fall back to linear,
    as mergekit's SLERP does.
    """

    name: str = "slerp"
    needs_stats: bool = True
    parallel_threshold: float = 0.9995

    def weights(self, alpha: float, stats: TensorStats | None) -> tuple[float, float]:
        assert stats is not None, "slerp needs the tensor's statistics"
        norms = math.sqrt(stats.vlm_square * stats.text_square)
        if norms == 0.0:
            return alpha, 1.0 - alpha
        cosine = max(-1.0, min(1.0, stats.dot / norms))
        if abs(cosine) > self.parallel_threshold:
            return alpha, 1.0 - alpha
        theta = math.acos(cosine)
        return math.sin(alpha * theta) / math.sin(theta), math.sin((1.0 - alpha) * theta) / math.sin(theta)


METHODS: dict[str, MergeMethod] = {"linear": Linear(), "slerp": Slerp()}


def get_method(name: str) -> MergeMethod:
    try:
        return METHODS[name]
    except KeyError:
        raise MergeError(f"--method {name!r}: choose one of {', '.join(METHODS)}") from None


def check_alphas(alphas: list[float]) -> list[float]:
    """Each in [0, 1], none twice, at least one."""
    if not alphas:
        raise MergeError("--alphas: give at least one value")
    for alpha in alphas:
        if not (isinstance(alpha, int | float) and 0.0 <= alpha <= 1.0):  # also refuses NaN
            raise MergeError(f"alpha {alpha}: must be between 0 and 1 (the VLM's share; the paper uses 0.4)")
    if len(set(alphas)) != len(alphas):
        raise MergeError(f"--alphas {','.join(map(str, alphas))}: a value is given twice")
    return [float(alpha) for alpha in alphas]
