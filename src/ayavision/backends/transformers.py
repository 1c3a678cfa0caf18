"""The ``transformers`` backend: a local Hugging Face model, batched across concurrent requests.

Three kinds of model: a VLM (``AutoModelForImageTextToText`` + its processor) for recaptioning and judging,
a causal LLM for text-only work (rephrasing), and an NLLB-style seq2seq model for translation
(``seq2seq.py``: target language forced as the first token, sentence by sentence, output bounded by the
source, repetition loops regenerated or refused). torch and transformers are imported only when a model loads.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ayavision.backends.base import Backend, BackendError, ChatRequest, ChatResponse, register_backend
from ayavision.backends.batching import MicroBatcher
from ayavision.backends.media import image_pil
from ayavision.errors import ConfigError
from ayavision.model.chat_format import install_chat_template
from ayavision.model.compat import load_vlm
from ayavision.utils.config import Strict

Kind = Literal["auto", "vlm", "causal", "seq2seq"]


class TransformersConfig(Strict):
    """Options of the ``transformers`` backend; unknown keys are refused."""

    model: str = Field(min_length=1, description="a local model folder (nothing is downloaded)")
    kind: Kind = Field("auto", description="auto: seq2seq if the config is encoder-decoder, vlm if it has vision")
    device: str = "cpu"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    batch_size: int = Field(8, ge=1, description="requests (seq2seq: sentences) per generate call")
    batch_wait_ms: float = Field(5.0, ge=0, description="how long a batch waits to fill")
    generation: dict[str, Any] = Field(default_factory=dict, description="extra generate() options, e.g. num_beams")
    # seq2seq translation
    split_sentences: bool = True
    length_ratio: float = Field(2.0, gt=0, description="a sentence's translation has at most ratio x its tokens")
    length_slack: int = Field(10, ge=0, description="... plus this many")
    detect_loops: bool = True
    loop_retries: int = Field(1, ge=0, description="regenerations with n-gram blocking before refusing a loop")
    no_repeat_ngram_size: int = Field(3, ge=1)
    revision: str | None = Field(None, description="optional tag kept in cache keys")


def folder_fingerprint(folder: str | Path) -> str:
    """A model folder's one fingerprint: configs plus weight files' names, sizes and times; reads no weights.

    It changes whenever the model may have (a retrained model of the same size included); a copied folder gets a
    new one and re-queries: the safe side, and cheaper than hashing gigabytes. Cache keys and answers files use it.
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    for name in ("config.json", "generation_config.json"):
        if (folder / name).is_file():
            digest.update((folder / name).read_bytes())
    for path in sorted(folder.glob("*.safetensors")):
        info = path.stat()
        digest.update(f"{path.name}:{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _hf_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat messages with every image as a PIL image and string content as one text part."""
    out = []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        parts = [{"type": "image", "image": image_pil(p["image"])} if p.get("type") == "image" else p for p in content]
        out.append({"role": message["role"], "content": parts})
    return out


def _has_image(messages: list[dict[str, Any]]) -> bool:
    return any(
        part.get("type") == "image" for m in messages if not isinstance(m["content"], str) for part in m["content"]
    )


class TransformersBackend(Backend):
    name = "transformers"

    def __init__(self, config: TransformersConfig) -> None:
        self.config = config
        self.folder = Path(config.model)
        if not self.folder.is_dir():
            raise ConfigError(
                f"model folder {config.model} does not exist (the transformers backend loads local folders)"
            )
        self.kind = self._detect_kind()
        self.model: Any = None
        self.processor: Any = None  # a processor (vlm) or a tokenizer (causal, seq2seq)
        self._load_lock = threading.Lock()
        self._batcher: MicroBatcher[ChatRequest, ChatResponse] = MicroBatcher(
            self._run_batch, config.batch_size, config.batch_wait_ms / 1000, key=self._batch_key
        )

    def _detect_kind(self) -> str:
        if self.config.kind != "auto":
            return self.config.kind
        try:
            config = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ConfigError(f"{self.folder}/config.json cannot be read: {err}") from None
        if config.get("is_encoder_decoder"):
            return "seq2seq"
        return "vlm" if "vision_config" in config else "causal"

    @property
    def preferred_concurrency(self) -> int:
        return 2 * self.config.batch_size

    def identity(self) -> dict[str, Any]:
        settings = self.config.model_dump(include={"generation", "dtype"})
        if self.kind == "seq2seq":
            settings.update(
                self.config.model_dump(include={"split_sentences", "length_ratio", "length_slack", "detect_loops"})
            )
        identity = {"backend": "transformers", "model": self.folder.name, "weights": folder_fingerprint(self.folder)}
        identity.update(kind=self.kind, settings=settings)
        if self.config.revision:
            identity["revision"] = self.config.revision
        return identity

    def load(self) -> None:
        """Load the model once (thread-safe: the first batch loads it in the worker thread)."""
        with self._load_lock:
            if self.model is not None:
                return
            import torch
            from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoProcessor, AutoTokenizer

            dtype: Any = "auto" if self.config.dtype == "auto" else getattr(torch, self.config.dtype)
            classes = {"causal": AutoModelForCausalLM, "seq2seq": AutoModelForSeq2SeqLM}
            try:
                if self.kind == "vlm":
                    model = load_vlm(self.folder, dtype)  # any AyaVision folder, its text config completed
                else:
                    model = classes[self.kind].from_pretrained(str(self.folder), dtype=dtype)
                processor = (AutoProcessor if self.kind == "vlm" else AutoTokenizer).from_pretrained(str(self.folder))
            except (OSError, ValueError) as err:
                raise BackendError(f"cannot load {self.kind} model from {self.folder}: {err}", fatal=True) from None
            tokenizer = getattr(processor, "tokenizer", processor)
            if self.kind == "causal" and tokenizer.chat_template is None:
                install_chat_template(tokenizer)  # a base LLM: the same default format a VLM composed from it has
            tokenizer.padding_side = "left" if self.kind != "seq2seq" else "right"  # decoders continue on the right
            self.model = model.to(self.config.device).eval()
            self.processor = processor

    async def check(self) -> None:
        import asyncio

        await asyncio.to_thread(self.load)

    @staticmethod
    def _batch_key(request: ChatRequest) -> tuple:
        hints = (request.hints.get("src_lang"), request.hints.get("tgt_lang"))
        return (request.max_tokens, request.temperature, request.seed, request.stop, hints)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        if self.kind == "causal" and _has_image(request.messages):
            raise BackendError(f"{self.folder} is a text-only model; it cannot answer a request with images")
        return await self._batcher.submit(request)

    def _run_batch(self, requests: list[ChatRequest]) -> list[ChatResponse | BaseException]:
        self.load()
        if self.kind == "seq2seq":
            from ayavision.backends.seq2seq import Seq2SeqTranslator

            try:
                return Seq2SeqTranslator(self.model, self.processor, self.config).translate(requests)
            except BackendError as err:
                return [err] * len(requests)
        return self._generate_chat(requests)

    def _generate_chat(self, requests: list[ChatRequest]) -> list[ChatResponse | BaseException]:
        import torch

        first = requests[0]  # the batch key makes max_tokens, temperature, seed and stop equal across the batch
        conversations = [_hf_messages(r.messages) for r in requests]
        template: dict[str, Any] = {"add_generation_prompt": True, "tokenize": True, "return_dict": True}
        if self.kind == "vlm":
            inputs = self.processor.apply_chat_template(
                conversations, return_tensors="pt", processor_kwargs={"padding": True}, **template
            )
        else:
            texts = [[{**m, "content": "\n".join(p["text"] for p in m["content"])} for m in c] for c in conversations]
            inputs = self.processor.apply_chat_template(texts, return_tensors="pt", padding=True, **template)
        inputs = inputs.to(self.model.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        options: dict[str, Any] = {"max_new_tokens": first.max_tokens, "do_sample": first.temperature > 0}
        if first.temperature > 0:
            options["temperature"] = first.temperature
            if first.seed is not None:
                torch.manual_seed(first.seed)
        options.update(self.config.generation)
        options.update(first.extra)
        with torch.inference_mode():
            out = self.model.generate(**inputs, **options)
        return self._decode(out, inputs, first.stop)

    def _decode(self, out: Any, inputs: Any, stops: tuple[str, ...]) -> list[ChatResponse | BaseException]:
        """Each row's answer: cut at its first end-of-turn token (rows that ended early are padded to the longest)."""
        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        eos = self.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if tokenizer.eos_token_id is not None:
            eos_ids.add(tokenizer.eos_token_id)
        prompt_length = inputs["input_ids"].shape[1]
        responses: list[ChatResponse | BaseException] = []
        for row, mask in zip(out[:, prompt_length:].tolist(), inputs["attention_mask"], strict=True):
            ended = next((i for i, t in enumerate(row) if t in eos_ids), None)
            ids = row[:ended] if ended is not None else [t for t in row if t != tokenizer.pad_token_id]
            text = tokenizer.decode(ids, skip_special_tokens=True).strip()
            finish = "stop" if ended is not None else "length"
            for stop in stops:
                if stop in text:
                    text, finish = text[: text.index(stop)], "stop"
            # Token counts as an endpoint reports them: the prompt without padding, the answer with its end token.
            responses.append(ChatResponse(text, finish, int(mask.sum()), len(ids) + (ended is not None)))
        return responses

    async def aclose(self) -> None:
        await self._batcher.aclose()


@register_backend("transformers")
def create_transformers_backend(**options: Any) -> TransformersBackend:
    return TransformersBackend(TransformersConfig(**options))
