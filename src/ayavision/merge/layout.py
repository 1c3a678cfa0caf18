"""Map a VLM's language-model tensor names onto a text LLM's, for each AyaVision naming layout, explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ayavision.merge.errors import MergeError
from ayavision.model.checkpoint import LAYOUT_STYLES, layout_kind

# (VLM prefix, text-LLM prefix): the language model's tensors in each layout. Released checkpoints differ from
# the on-disk default only in the vision tower's names, which are copied, not mapped.
_ON_DISK_LM = (("language_model.model.", "model."), ("language_model.lm_head.", "lm_head."))
_IN_MEMORY_LM = (("model.language_model.", "model."), ("lm_head.", "lm_head."))
_LM_PREFIXES = {"on-disk": _ON_DISK_LM, "released": _ON_DISK_LM, "in-memory": _IN_MEMORY_LM}

# A name with one of these prefixes belongs to the other naming family: a checkpoint mixing the two is refused
# rather than half-mapped.
_FOREIGN_PREFIXES = {
    "on-disk": ("model.",),
    "released": ("model.",),
    "in-memory": ("language_model.", "vision_tower.", "multi_modal_projector."),
}

TEXT_PREFIXES = ("model.", "lm_head.")


@dataclass(frozen=True)
class VLMLayout:
    kind: str  # a key of ayavision.model.info.LAYOUT_STYLES

    @property
    def description(self) -> str:
        return LAYOUT_STYLES[self.kind]

    def text_name(self, vlm_name: str) -> str | None:
        """The text LLM's name for a VLM language-model tensor; None for the vision tower, connector and the rest."""
        for vlm_prefix, text_prefix in _LM_PREFIXES[self.kind]:
            if vlm_name.startswith(vlm_prefix):
                return text_prefix + vlm_name[len(vlm_prefix) :]
        return None


def vlm_layout(folder: Path, names: list[str]) -> VLMLayout:
    """The layout of an AyaVision checkpoint; unknown or mixed namings are refused with the tensor at fault."""
    kind = layout_kind(names)
    if kind == "unknown":
        known = "; ".join(style for key, style in LAYOUT_STYLES.items() if key != "unknown")
        sample = ", ".join(sorted(names)[:3])
        raise MergeError(f"--vlm {folder}: no AyaVision language model found (tensors like {sample}); known: {known}")
    for name in names:
        if name.startswith(_FOREIGN_PREFIXES[kind]) and VLMLayout(kind).text_name(name) is None:
            raise MergeError(
                f"--vlm {folder}: tensor {name} does not fit the {LAYOUT_STYLES[kind]} layout of the others; "
                "a checkpoint mixing layouts is refused"
            )
    return VLMLayout(kind)


def check_text_layout(folder: Path, names: list[str]) -> None:
    """A text LLM names its tensors model.* and lm_head.*; anything else is a different kind of checkpoint."""
    if layout_kind(names) != "unknown":
        raise MergeError(f"--text {folder}: holds an AyaVision model ({layout_style_of(names)}); give the text LLM")
    for name in names:
        if not name.startswith(TEXT_PREFIXES):
            raise MergeError(
                f"--text {folder}: tensor {name} is neither model.* nor lm_head.*; "
                "expected a causal-LM checkpoint as transformers saves it"
            )


def layout_style_of(names: list[str]) -> str:
    return LAYOUT_STYLES[layout_kind(names)]
