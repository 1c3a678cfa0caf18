"""Save a composed model as a plain transformers folder, and load any AyaVision folder back."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import AutoProcessor

from ayavision.model.checkpoint import rewrite_released_layout
from ayavision.model.compat import load_vlm
from ayavision.model.compose import DTYPES, Composed
from ayavision.model.spec import ModelSpec
from ayavision.utils.fs import atomic_dir

BUILD_RECORD = "ayavision_build.json"


def save_composed(
    composed: Composed, out: str | Path, spec: ModelSpec, overwrite: bool = False, max_shard_size: str = "5GB"
) -> Path:
    """Write weights, config, processor and a build record; the folder appears only when all are written."""
    out = Path(out)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        save_model(composed.model, composed.processor, tmp, max_shard_size)
        record = {"spec": json.loads(spec.model_dump_json()), "report": composed.report.to_dict()}
        (tmp / BUILD_RECORD).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


_TOWER = "model.vision_tower."


def save_model(model, processor, folder: str | Path, max_shard_size: str = "5GB") -> None:
    """Weights in the released layout (``vision_tower.vision_model.*``), config, generation config and processor:
    the folder transformers and vLLM load like a released Aya Vision model. Callers make it atomic.

    transformers 5.x maps in-memory names back to its on-disk ones as it saves (``model.vision_tower.`` ->
    ``vision_tower.``), so naming the tower's tensors ``model.vision_tower.vision_model.*`` writes the released
    names in one pass. Should a transformers version map differently, the header rewrite renames what is left
    (it reads only headers when nothing needs renaming).
    """
    state = {
        (_TOWER + "vision_model." + name[len(_TOWER) :]) if name.startswith(_TOWER) else name: tensor
        for name, tensor in model.state_dict().items()
    }
    model.save_pretrained(folder, state_dict=state, max_shard_size=max_shard_size)
    processor.save_pretrained(folder)
    rewrite_released_layout(folder)


def load_pretrained(folder: str | Path, dtype: str | None = None, device: str = "cpu"):
    """Load any AyaVision folder (ours or a released one) with nothing but the Auto classes."""
    model = load_vlm(folder, DTYPES[dtype] if dtype else "auto").to(device)
    processor = AutoProcessor.from_pretrained(str(folder))
    model.eval()
    return model, processor
