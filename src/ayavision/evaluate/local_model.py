"""Batched answers from a local AyaVision folder: left padding, greedy unless a temperature is set."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from ayavision.errors import ConfigError
from ayavision.evaluate.answers import Generated
from ayavision.evaluate.items import BenchItem
from ayavision.evaluate.settings import GenerationSettings
from ayavision.model.chat_format import install_chat_template
from ayavision.model.generate import build_messages
from ayavision.model.store import load_pretrained


def _load_causal_lm(folder: Path, dtype: str | None, device: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ayavision.model.compose import DTYPES

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=DTYPES[dtype] if dtype else "auto").to(device)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.chat_template is None:
        install_chat_template(tokenizer)  # a base LLM answers in the same default format its VLM was given
    return model, tokenizer


def folder_fingerprint(folder: str | Path) -> str:
    """A short hash of a model folder's config and weight file sizes: tells two checkpoints apart cheaply."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for name in ("config.json", "generation_config.json"):
        if (folder / name).is_file():
            digest.update((folder / name).read_bytes())
    for weights in sorted(folder.glob("*.safetensors")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()[:16]


class LocalModel:
    """A model folder loaded once; ``generate`` answers a batch of items.

    An AyaVision folder answers items with or without images; a plain causal-LM folder (the text LLM a
    VLM starts from and is merged back with) answers text-only items, so text skills can be compared.
    """

    def __init__(self, folder: str | Path, device: str = "cpu", dtype: str | None = None) -> None:
        self.folder = Path(folder)
        if not (self.folder / "config.json").is_file():
            raise FileNotFoundError(f"{self.folder}: not a model folder (no config.json)")
        config = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
        self.multimodal = config.get("model_type") == "aya_vision"
        if self.multimodal:
            self.model, self.processor = load_pretrained(self.folder, dtype=dtype, device=device)
            self.tokenizer = self.processor.tokenizer
        else:
            self.model, self.tokenizer = _load_causal_lm(self.folder, dtype, device)
            self.processor = self.tokenizer
        # Decoder-only generation continues from the last position: padding must go on the left.
        self.tokenizer.padding_side = "left"
        self._identity = {
            "kind": "local",
            "name": self.folder.name,
            "path": str(self.folder.resolve()),
            "fingerprint": folder_fingerprint(self.folder),
        }

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    @torch.inference_mode()
    def generate(
        self, items: list[BenchItem], images: list[list[Image.Image]], settings: GenerationSettings
    ) -> list[Generated]:
        if not self.multimodal and any(images):
            raise ConfigError(f"{self.folder} is a text-only model; it cannot answer items with images")
        conversations = [build_messages(imgs, item.prompt) for item, imgs in zip(items, images, strict=True)]
        padding = {"processor_kwargs": {"padding": True}} if self.multimodal else {"padding": True}
        inputs = self.processor.apply_chat_template(
            conversations, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt", **padding
        ).to(self.model.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        sampling: dict[str, Any] = {"do_sample": False}
        if settings.temperature > 0:
            sampling = {"do_sample": True, "temperature": settings.temperature}
            if settings.top_p is not None:
                sampling["top_p"] = settings.top_p
            if settings.seed is not None:
                torch.manual_seed(settings.seed)
        output = self.model.generate(**inputs, max_new_tokens=settings.max_new_tokens, **sampling)
        prompt_len = inputs["input_ids"].shape[1]
        eos_ids = self._eos_ids()
        pad_id = self.tokenizer.pad_token_id
        results = []
        for row, mask in zip(output, inputs["attention_mask"], strict=True):
            new = row[prompt_len:].tolist()
            # Rows that finished early are padded up to the longest; cut at the first end-of-turn token.
            stop = next((i for i, token in enumerate(new) if token in eos_ids), None)
            tokens = new[:stop] if stop is not None else [t for t in new if t != pad_id]
            results.append(
                Generated(
                    text=self.tokenizer.decode(tokens, skip_special_tokens=True).strip(),
                    finish_reason="stop" if stop is not None else "length",
                    prompt_tokens=int(mask.sum()),
                    completion_tokens=len(tokens) + (1 if stop is not None else 0),
                )
            )
        return results

    def _eos_ids(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id
        ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if self.tokenizer.eos_token_id is not None:
            ids.add(self.tokenizer.eos_token_id)
        return ids
