"""Answer a prompt about one or more images with any AyaVision folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from ayavision.errors import InputError
from ayavision.model.store import load_pretrained


@dataclass
class Generation:
    text: str
    token_ids: list[int]
    prompt_tokens: int
    image_tokens: int


def build_messages(images: list[Image.Image], prompt: str) -> list[dict]:
    """One user turn. Without images the content is a plain string: every text LLM's template takes that (many
    fail on a list of parts), and an image-aware VLM template renders both forms the same."""
    if not images:
        return [{"role": "user", "content": prompt}]
    content: list[dict] = [{"type": "image", "image": image} for image in images]
    content.append({"type": "text", "text": prompt})
    return [{"role": "user", "content": content}]


def prompt_inputs(processor, images: list[Image.Image], prompt: str):
    """The model inputs of one user turn through the processor's chat template, ending where the answer starts."""
    return processor.apply_chat_template(
        build_messages(images, prompt), add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )


@torch.inference_mode()
def generate(
    model,
    processor,
    images: list[Image.Image],
    prompt: str,
    max_new_tokens: int = 64,
    do_sample: bool = False,
    temperature: float = 1.0,
) -> Generation:
    inputs = prompt_inputs(processor, images, prompt).to(model.device)
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    sampling = {"do_sample": True, "temperature": temperature} if do_sample else {"do_sample": False}
    output = model.generate(**inputs, max_new_tokens=max_new_tokens, **sampling)
    prompt_len = inputs["input_ids"].shape[1]
    new_tokens = output[0, prompt_len:].tolist()
    text = processor.tokenizer.decode(new_tokens, skip_special_tokens=True)
    image_tokens = int((inputs["input_ids"][0] == model.config.image_token_index).sum())
    return Generation(text=text, token_ids=new_tokens, prompt_tokens=prompt_len, image_tokens=image_tokens)


def open_images(paths: list[str | Path]) -> list[Image.Image]:
    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                images.append(image.convert("RGB"))
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: no such image") from None
        except OSError as err:
            raise InputError(f"{path}: not a readable image ({err})") from None
    return images


def generate_from_folder(
    folder: str | Path, image_paths: list[str | Path], prompt: str, max_new_tokens: int = 64, device: str = "cpu"
) -> Generation:
    model, processor = load_pretrained(folder, device=device)
    return generate(model, processor, open_images(image_paths), prompt, max_new_tokens=max_new_tokens)
