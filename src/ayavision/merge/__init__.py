"""Cross-modal merging: a text LLM into an AyaVision model's language model, streamed one chunk at a time."""

from ayavision.merge.api import DEFAULT_ALPHA, MergeOutcome, alpha_folder_name, merge_checkpoints, merge_sweep
from ayavision.merge.errors import MergeError
from ayavision.merge.methods import METHODS
from ayavision.merge.plan import MergePlan, plan_merge

__all__ = [
    "DEFAULT_ALPHA",
    "METHODS",
    "MergeError",
    "MergeOutcome",
    "MergePlan",
    "alpha_folder_name",
    "merge_checkpoints",
    "merge_sweep",
    "plan_merge",
]
