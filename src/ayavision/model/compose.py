"""Compose an AyaVision model from an encoder and an LLM (or start from an AyaVision folder), with a load report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from transformers import (
    AutoProcessor,
    AyaVisionConfig,
    AyaVisionForConditionalGeneration,
    AyaVisionProcessor,
    GenerationConfig,
    PreTrainedTokenizerBase,
)

from ayavision.model.chat_format import install_chat_template, stop_token_ids
from ayavision.model.checkpoint import CheckpointError, iter_tensors, list_tensors
from ayavision.model.compat import complete_text_config, load_vlm, logit_scale_note
from ayavision.model.llm import load_tokenizer, map_llm_name, resolve_text_config
from ayavision.model.processor import build_processor
from ayavision.model.spec import ModelSpec, SpecError
from ayavision.model.tokens import IMG_PATCH, add_multimodal_tokens
from ayavision.model.vision import check_grid, encoder_state_dict, resolve_encoder

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class LoadReport:
    """What came from where. Nothing unexpected is silently dropped: it is listed here."""

    loaded: dict[str, int] = field(default_factory=dict)  # component -> tensors loaded
    ignored: dict[str, int] = field(default_factory=dict)  # component -> tensors deliberately not used
    unexpected: list[str] = field(default_factory=list)  # checkpoint tensors with no place in the model
    missing: list[str] = field(default_factory=list)  # model tensors no checkpoint provided (random init)
    notes: list[str] = field(default_factory=list)
    added_tokens: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Composed:
    model: AyaVisionForConditionalGeneration
    processor: AyaVisionProcessor
    report: LoadReport


def compose(spec: ModelSpec) -> Composed:
    """Build the model a spec describes, load pretrained parts, and initialise the connector afresh."""
    if spec.base is not None:
        return _from_base(spec)
    assert spec.vision is not None and spec.llm is not None
    report = LoadReport()
    encoder = resolve_encoder(spec.vision, spec.tiling.tile_size, spec.connector.downsample_factor)
    resolve_text_config(spec.llm)  # fail on a wrong model type before any heavy work
    for folder in (spec.vision.checkpoint, spec.llm.checkpoint):
        if folder is not None:
            list_tensors(folder)  # every shard present and complete, before anything is built
    tokenizer = load_tokenizer(spec.llm)
    report.added_tokens = _prepare_tokenizer(tokenizer, spec.tiling.max_tiles, report)
    config = assemble_config(spec, encoder.config, tokenizer)
    text_config = config.text_config
    torch.manual_seed(spec.seed)
    model = AyaVisionForConditionalGeneration._from_config(config, dtype=DTYPES[spec.dtype])
    model.eval()
    if spec.connector.tie_shuffled_patches:
        tie_shuffled_patches(model.model.multi_modal_projector.linear_1, spec.connector.downsample_factor**2)

    params = dict(model.named_parameters(remove_duplicate=False))
    filled: set[str] = set()
    if encoder.checkpoint is not None:
        state, ignored, notes = encoder_state_dict(encoder)
        report.notes += notes
        report.ignored["vision_tower"] = len(ignored)
        for key, tensor in state.items():
            _copy(params, f"model.vision_tower.{key}", tensor, filled, report, "vision_tower")
    if spec.llm.checkpoint is not None:
        tied = config.tie_word_embeddings
        for name, tensor in iter_tensors(spec.llm.checkpoint):
            target = map_llm_name(name)
            if target is None:
                report.unexpected.append(name)
            elif target == "lm_head.weight" and tied:
                report.ignored["lm_head (tied to embeddings)"] = 1
            else:
                _copy(params, target, tensor, filled, report, "language_model")
    report.missing = _missing(model, filled, encoder.checkpoint is not None, spec.llm.checkpoint is not None)
    _report_logit_scale(text_config, report)

    _resize_vocab(model, tokenizer, report)
    _set_generation_defaults(model, tokenizer, _llm_eos_ids(spec, text_config))
    processor = build_processor(
        tokenizer,
        tile_size=encoder.config.image_size,
        patch_size=encoder.config.patch_size,
        downsample_factor=spec.connector.downsample_factor,
        min_tiles=spec.tiling.min_tiles,
        max_tiles=spec.tiling.max_tiles,
    )
    return Composed(model, processor, report)


@torch.no_grad()
def tie_shuffled_patches(linear: nn.Linear, slots: int) -> None:
    """Give ``linear`` the same weights for each of the ``slots`` patch states a pixel-shuffled token concatenates
    (contiguous blocks of the encoder's width, in transformers' pixel_shuffle), scaled so that for independent
    inputs its output keeps the spread the independent draw had."""
    width = linear.in_features // slots
    linear.weight.copy_(linear.weight[:, :width].repeat(1, slots) / slots**0.5)


def assemble_config(spec: ModelSpec, vision_config, tokenizer: PreTrainedTokenizerBase | None) -> AyaVisionConfig:
    """The AyaVisionConfig a spec describes; with no tokenizer (describing large presets) ids keep config values."""
    assert spec.llm is not None
    text_config = resolve_text_config(spec.llm)
    image_token_index = 0
    if tokenizer is not None:
        if spec.llm.config is not None and "vocab_size" not in spec.llm.config:
            text_config.vocab_size = len(tokenizer)  # an inline LLM is sized to its tokenizer
        _set_special_token_ids(text_config, tokenizer, inline=spec.llm.config is not None)
        image_token_index = tokenizer.convert_tokens_to_ids(IMG_PATCH)
    complete_text_config(text_config)
    return AyaVisionConfig(
        vision_config=vision_config,
        text_config=text_config,
        downsample_factor=spec.connector.downsample_factor,
        adapter_layer_norm_eps=spec.connector.layer_norm_eps,
        alignment_intermediate_size=spec.connector.intermediate_size or text_config.hidden_size,
        image_token_index=image_token_index,
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
        # AyaVisionConfig's own flag wins over the LLM's: copy it, or an untied head is silently tied.
        tie_word_embeddings=bool(getattr(text_config, "tie_word_embeddings", True)),
    )


def _prepare_tokenizer(tokenizer: PreTrainedTokenizerBase, max_tiles: int, report: LoadReport) -> list[str]:
    """Add the image tokens and tile tags (the only new tokens) and make the LLM's chat template image-aware."""
    added = add_multimodal_tokens(tokenizer, max_tiles)
    note = install_chat_template(tokenizer)
    if note:
        report.notes.append(note)
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        # Batched generation and packing pad; an existing token serves (padding is masked), no new one is trained.
        tokenizer.pad_token = tokenizer.eos_token
        report.notes.append(f"the tokenizer has no pad token: {tokenizer.eos_token} pads (masked, never trained on)")
    return added


def _copy(
    params: dict[str, nn.Parameter],
    name: str,
    tensor: torch.Tensor,
    filled: set[str],
    report: LoadReport,
    component: str,
) -> None:
    param = params.get(name)
    if param is None:
        report.unexpected.append(name)
        return
    if tuple(param.shape) != tuple(tensor.shape):
        raise CheckpointError(f"{name}: checkpoint shape {tuple(tensor.shape)} != model shape {tuple(param.shape)}")
    with torch.no_grad():
        param.copy_(tensor.to(param.dtype))
    filled.add(name)
    report.loaded[component] = report.loaded.get(component, 0) + 1


def _missing(model: nn.Module, filled: set[str], have_vision: bool, have_llm: bool) -> list[str]:
    """Model tensors a given checkpoint should have provided but did not (the connector is new by design)."""
    missing = []
    tied = model.config.tie_word_embeddings
    for name, _ in model.named_parameters(remove_duplicate=False):
        if name in filled:
            continue
        if (
            (name.startswith("model.vision_tower.") and have_vision)
            or (name.startswith("model.language_model.") and have_llm)
            or (name == "lm_head.weight" and have_llm and not tied)
        ):
            missing.append(name)
    return missing


def _report_logit_scale(text_config, report: LoadReport) -> None:
    note = logit_scale_note(text_config)
    if note:
        report.notes.append(note)


def _set_special_token_ids(text_config, tokenizer: PreTrainedTokenizerBase, inline: bool) -> None:
    """Ids a pretrained LLM's config gives are kept (Llama 3 lists several eos ids); an inline LLM's, a missing one,
    or one outside the vocabulary (a config class default such as Cohere's 255001) come from the tokenizer."""
    ids = {
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    for attr, value in ids.items():
        if value is not None and (inline or not _in_vocab(getattr(text_config, attr, None), len(tokenizer))):
            setattr(text_config, attr, value)


def _in_vocab(ids: int | list[int] | None, size: int) -> bool:
    values = [ids] if isinstance(ids, int) else list(ids or [])
    return bool(values) and all(0 <= i < size for i in values)


def _llm_eos_ids(spec: ModelSpec, text_config) -> int | list[int] | None:
    """The LLM's own stop ids: its generation config (what its chat use stops on), else its config's eos."""
    folder = spec.llm.checkpoint if spec.llm is not None else None
    if folder is not None and (Path(folder) / "generation_config.json").exists():
        eos = GenerationConfig.from_pretrained(folder).eos_token_id
        if eos is not None:
            return eos
    return getattr(text_config, "eos_token_id", None)


def _resize_vocab(
    model: AyaVisionForConditionalGeneration, tokenizer: PreTrainedTokenizerBase, report: LoadReport
) -> None:
    old = model.config.text_config.vocab_size
    if len(tokenizer) > old:
        # New rows start at the mean of the old ones, so the new tokens do not dominate the softmax at step 0.
        model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
        report.notes.append(f"embeddings resized from {old} to {len(tokenizer)} rows for the added tokens")


def _set_generation_defaults(
    model: AyaVisionForConditionalGeneration, tokenizer: PreTrainedTokenizerBase, llm_eos: int | list[int] | None
) -> None:
    gen = model.generation_config
    eos = stop_token_ids(tokenizer, llm_eos)
    gen.eos_token_id = eos if len(eos) > 1 else (eos[0] if eos else None)
    gen.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos[0] if eos else None)
    gen.bos_token_id = tokenizer.bos_token_id
    gen.do_sample = False


def _from_base(spec: ModelSpec) -> Composed:
    """Start from an existing AyaVision folder (e.g. a released model) to fine-tune it."""
    report = LoadReport(notes=[f"started from {spec.base}"])
    model = load_vlm(spec.base, DTYPES[spec.dtype])
    if not isinstance(model, AyaVisionForConditionalGeneration):
        raise SpecError(f"base: {spec.base} holds a {type(model).__name__}, not an AyaVision model")
    processor = AutoProcessor.from_pretrained(spec.base)
    # The folder's own (image-aware) template is kept; only a folder without one is given one.
    processor.tokenizer.chat_template = processor.chat_template or processor.tokenizer.chat_template
    report.added_tokens = _prepare_tokenizer(processor.tokenizer, spec.tiling.max_tiles, report)
    processor.chat_template = processor.tokenizer.chat_template
    _resize_vocab(model, processor.tokenizer, report)
    patch_id = processor.tokenizer.convert_tokens_to_ids(IMG_PATCH)
    if model.config.image_token_index != patch_id:
        report.notes.append(f"image_token_index {model.config.image_token_index} -> {patch_id} (<|IMG_PATCH|>)")
        model.config.image_token_index = patch_id
    check_grid(processor.img_size, model.config.vision_config.patch_size, model.config.downsample_factor)
    report.loaded = {"all": len(model.state_dict())}
    return Composed(model, processor, report)
