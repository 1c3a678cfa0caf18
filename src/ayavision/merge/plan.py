"""Decide, from headers and configs only, where every output tensor comes from; refuse anything that does not fit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ayavision.merge.configs import (
    LanguageModelConfig,
    check_same_architecture,
    check_same_kind,
    read_text_config,
    read_vlm_config,
)
from ayavision.merge.errors import MergeError
from ayavision.merge.layout import VLMLayout, check_text_layout, vlm_layout
from ayavision.merge.writer import OutputTensor
from ayavision.model.checkpoint import FLOAT_DTYPES, TensorInfo, list_tensors, released_name, verify_index

EMBEDDINGS = "model.embed_tokens.weight"
OUTPUT_HEAD = "lm_head.weight"
# The only tensors allowed more rows in the VLM than in the text LLM: composition appends the image tokens and tile
# tags to the vocabulary, so the leading rows are shared and the rest exist in the VLM only.
VOCAB_TENSORS = frozenset({EMBEDDINGS, OUTPUT_HEAD})


@dataclass(frozen=True)
class TensorTask:
    """One output tensor: interpolated from both inputs (its first ``shared_elements``) or copied from the VLM."""

    vlm: TensorInfo
    text: TensorInfo | None  # None: copied byte for byte from the VLM
    out_dtype: str
    shared_elements: int = 0  # leading elements (whole rows) the text LLM has too; the rest come from the VLM

    @property
    def name(self) -> str:
        """The output name: the released layout's, whatever layout the VLM was saved in."""
        return released_name(self.vlm.name)

    @property
    def output(self) -> OutputTensor:
        return OutputTensor(self.name, self.out_dtype, self.vlm.shape)


@dataclass
class MergePlan:
    vlm_folder: Path
    text_folder: Path
    layout: VLMLayout
    tied_head: bool
    tasks: list[TensorTask]
    ignored_text: list[str] = field(default_factory=list)  # text tensors deliberately unused

    @property
    def merged(self) -> list[TensorTask]:
        return [task for task in self.tasks if task.text is not None]

    @property
    def copied(self) -> list[TensorTask]:
        return [task for task in self.tasks if task.text is None]

    @property
    def vlm_only_rows(self) -> dict[str, tuple[int, int]]:
        """Tensors with rows the text LLM lacks: name -> (rows interpolated, rows in all)."""
        rows = {}
        for task in self.merged:
            if task.shared_elements < task.vlm.numel:
                row = task.vlm.numel // task.vlm.shape[0]
                rows[task.name] = (task.shared_elements // row, task.vlm.shape[0])
        return rows

    @property
    def input_bytes(self) -> int:
        return sum(task.vlm.nbytes for task in self.tasks)


def plan_merge(vlm_folder: Path, text_folder: Path, dtype: str | None = None) -> MergePlan:
    """Pair every VLM language-model tensor with the text LLM's; the first mismatch is an error naming it."""
    vlm_config, text_config = read_vlm_config(vlm_folder), read_text_config(text_folder)
    check_same_kind(vlm_config, text_config)
    vlm_tensors = _tensors(vlm_folder)
    text_tensors = _tensors(text_folder)
    layout = vlm_layout(vlm_folder, [t.name for t in vlm_tensors])
    check_text_layout(text_folder, [t.name for t in text_tensors])
    text_by_name = {t.name: t for t in text_tensors}

    tasks, used = [], set()
    for tensor in vlm_tensors:
        text_name = layout.text_name(tensor.name)
        if text_name is None:
            tasks.append(TensorTask(tensor, None, tensor.dtype))
            continue
        partner = _partner(text_name, text_by_name, vlm_config)
        if partner is None:
            raise MergeError(
                f"VLM tensor {tensor.name} has no counterpart {text_name} in the text LLM {text_folder}: "
                "the two language models differ"
            )
        used.add(partner.name)
        shared = _shared_elements(tensor, partner, text_name)
        tasks.append(TensorTask(tensor, partner, dtype or tensor.dtype, shared))

    ignored = []
    for tensor in text_tensors:
        if tensor.name in used:
            continue
        if tensor.name == OUTPUT_HEAD and text_config.tied_head:
            ignored.append(tensor.name)  # a tied head saved anyway: it is the embedding matrix
            continue
        raise MergeError(
            f"text LLM tensor {tensor.name} has no counterpart in the VLM's language model ({vlm_folder}): "
            "the two language models differ"
        )
    check_same_architecture(vlm_config, text_config)
    return MergePlan(vlm_folder, text_folder, layout, vlm_config.tied_head, tasks, ignored)


def _tensors(folder: Path) -> list[TensorInfo]:
    """Every tensor in file order, so each input file is read front to back."""
    tensors = list_tensors(folder)
    verify_index(folder, tensors)
    return sorted(tensors, key=lambda t: (t.file.name, t.offset))


def _partner(text_name: str, text_by_name: dict[str, TensorInfo], vlm: LanguageModelConfig) -> TensorInfo | None:
    partner = text_by_name.get(text_name)
    if partner is None and text_name == OUTPUT_HEAD and vlm.tied_head:
        # A tied VLM that stored its head anyway, against a text LLM that did not: the text head is its embeddings.
        partner = text_by_name.get(EMBEDDINGS)
    return partner


def _shared_elements(vlm: TensorInfo, text: TensorInfo, text_name: str) -> int:
    """How many leading elements both hold: all of them, or the text LLM's rows of a vocabulary tensor."""
    for info in (vlm, text):
        if info.dtype not in FLOAT_DTYPES:
            raise MergeError(f"{info.file}: tensor {info.name} has dtype {info.dtype}; only floating weights merge")
    if vlm.shape == text.shape:
        return vlm.numel
    grows_rows = (
        text_name in VOCAB_TENSORS
        and len(vlm.shape) == len(text.shape) >= 1
        and vlm.shape[1:] == text.shape[1:]
        and vlm.shape[0] > text.shape[0]
    )
    if not grows_rows:
        raise MergeError(
            f"shapes differ: VLM tensor {vlm.name} is {list(vlm.shape)}, text LLM tensor {text.name} is "
            f"{list(text.shape)}; the language models are not the same architecture"
        )
    return text.numel
