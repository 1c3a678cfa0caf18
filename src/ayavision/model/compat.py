"""Loading AyaVision models alike on every transformers 5.x: the head's logit scaling changed in 5.25.

transformers 5.x up to 5.24 multiplies no logit of an AyaVision model by anything; from 5.25 its head multiplies them
by ``text_config.logit_scale``, read unconditionally, so an AyaVision config whose LLM has no such field (Llama,
Qwen, SmolLM2, Gemma: only Cohere's LLMs have one) fails on its first forward. A text config without the field gets
``logit_scale = 1.0``, written into every config we save and set on every folder we load: the head then computes
the same logits on every 5.x version, and a Cohere LLM keeps its own value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import transformers
from packaging.version import Version

from ayavision.model.checkpoint import CheckpointError

# Whether this transformers' AyaVision head multiplies the logits by the LLM's logit_scale (as the LLM itself and
# vLLM do); earlier 5.x heads do not.
HEAD_APPLIES_LOGIT_SCALE = Version(transformers.__version__).release >= (5, 25)


def complete_text_config(config: Any) -> Any:
    """Give an AyaVision config's text config ``logit_scale = 1.0`` when its LLM has none; returns the config."""
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    if getattr(text_config, "logit_scale", None) is None:
        text_config.logit_scale = 1.0
    return config


def logit_scale_note(text_config: Any) -> str | None:
    """What a composition report says of an LLM whose logit_scale is not 1.0 (None when there is nothing to say)."""
    scale = getattr(text_config, "logit_scale", None)
    if scale is None or scale == 1.0:
        return None
    if HEAD_APPLIES_LOGIT_SCALE:
        return (
            f"the LLM multiplies its logits by logit_scale={scale}, and so does the AyaVision head of this "
            f"transformers ({transformers.__version__}); versions before 5.25 do not: there, sampling temperature "
            "and loss scale differ from the text LLM's (greedy decoding is the same)"
        )
    return (
        f"the LLM multiplies its logits by logit_scale={scale}; the AyaVision head of this transformers "
        f"({transformers.__version__}) does not (5.25 and later do): greedy decoding is unchanged, sampling "
        "temperature and loss scale differ from the text LLM"
    )


def require_model_folder(folder: str | Path) -> None:
    """Refuse a path that is not a saved model: transformers would take it for a Hub repo id and fail obscurely."""
    if not (Path(folder) / "config.json").is_file():
        raise CheckpointError(f"{folder}: not a model folder (no config.json)")


def load_vlm(folder: str | Path, dtype: Any = "auto"):
    """An AyaVision (or any image-text-to-text) folder loaded with the Auto class, its text config completed."""
    from transformers import AutoModelForImageTextToText

    require_model_folder(folder)
    model = AutoModelForImageTextToText.from_pretrained(str(folder), dtype=dtype)
    complete_text_config(model.config)
    return model
