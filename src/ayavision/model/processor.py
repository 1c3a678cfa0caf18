"""The AyaVision processor for a composed model: GotOcr2 tiling plus the tokenizer with image tokens."""

from __future__ import annotations

from transformers import AyaVisionProcessor, PreTrainedTokenizerBase
from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil

from ayavision.model.tokens import IMG_PATCH


def build_processor(
    tokenizer: PreTrainedTokenizerBase,
    tile_size: int,
    patch_size: int,
    downsample_factor: int,
    min_tiles: int = 1,
    max_tiles: int = 12,
) -> AyaVisionProcessor:
    # The PIL backend needs no torchvision; the saved config loads with either backend.
    image_processor = GotOcr2ImageProcessorPil(
        size={"height": tile_size, "width": tile_size},
        crop_to_patches=True,
        min_patches=min_tiles,
        max_patches=max_tiles,
        # The released preprocessor uses mean = std = 0.5 (SigLIP's), not the class's CLIP defaults.
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        do_convert_rgb=True,
    )
    return AyaVisionProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=patch_size,
        img_size=tile_size,
        downsample_factor=downsample_factor,
        img_patch_token=IMG_PATCH,
        chat_template=tokenizer.chat_template,
    )


def tokens_per_tile(tile_size: int, patch_size: int, downsample_factor: int) -> int:
    return (tile_size // (patch_size * downsample_factor)) ** 2


def tiles_for(height: int, width: int, processor: AyaVisionProcessor) -> int:
    """Tiles (thumbnail included) the processor cuts an image of this size into."""
    return processor.image_processor.get_number_of_image_patches(height, width, {})


def image_patch_tokens(height: int, width: int, processor: AyaVisionProcessor) -> int:
    """How many `<|IMG_PATCH|>` tokens one image of this size becomes: what the model must produce features for."""
    per_tile = (processor.img_size // processor.patch_size) ** 2
    return tiles_for(height, width, processor) * per_tile
