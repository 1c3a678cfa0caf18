"""Parameter counts of the released shapes and the description of a saved folder."""

from __future__ import annotations

import pytest

from ayavision.model.info import describe


@pytest.mark.parametrize(
    ("preset", "total", "per_tile", "max_tokens"),
    [("aya-vision-8b", 8_631_842_032, 169, 2197), ("aya-vision-32b", 33_137_896_688, 256, 3328)],
)
def test_released_shapes_are_counted_on_the_meta_device(preset, total, per_tile, max_tokens):
    details = describe(preset)
    assert details.parameters["total"] == total
    assert sum(v for k, v in details.parameters.items() if k != "total") == total
    assert details.tokens_per_tile == per_tile
    assert details.max_image_tokens == max_tokens
    assert details.tied_head


def test_a_saved_folder_has_the_released_layout(tiny_model_dir):
    details = describe(str(tiny_model_dir))
    assert details.layout_style.startswith("released")
    prefixes = {group.prefix for group in details.layout}
    assert prefixes == {"vision_tower.vision_model.*", "multi_modal_projector.*", "language_model.model.*"}
    from ayavision.model.checkpoint import rewrite_released_layout

    assert rewrite_released_layout(tiny_model_dir) == 0  # written in one pass: no shard is copied a second time
    assert details.parameters["total"] == describe("tiny").parameters["total"]
    assert details.tokens_per_tile == 16 and details.max_image_tokens == 13 * 16


def test_unknown_target_names_the_presets():
    with pytest.raises(FileNotFoundError, match="tiny"):
        describe("no-such-thing")


def test_shipped_model_configs_validate():
    from pathlib import Path

    from ayavision.model.spec import load_spec

    configs = sorted((Path(__file__).parents[2] / "configs").glob("*.yaml"))
    assert len(configs) >= 3
    for path in configs:
        spec = load_spec(path)
        assert spec.base is not None or (spec.vision is not None and spec.llm is not None), path


def test_a_folder_in_the_on_disk_default_layout_is_recognised_and_loads_the_same(tiny_model_dir, tmp_path):
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    from ayavision.model.store import load_pretrained

    on_disk = tmp_path / "on-disk"
    shutil.copytree(tiny_model_dir, on_disk)
    state = load_file(on_disk / "model.safetensors")
    renamed = {k.replace("vision_tower.vision_model.", "vision_tower.", 1): v for k, v in state.items()}
    save_file(renamed, on_disk / "model.safetensors", metadata={"format": "pt"})
    assert describe(str(on_disk)).layout_style.startswith("on-disk default")
    ours, _ = load_pretrained(tiny_model_dir)
    theirs, _ = load_pretrained(on_disk)
    for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
