"""Turn a conversation record into token ids and next-token targets: only assistant tokens are supervised."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import AyaVisionProcessor

from ayavision.data import load_images
from ayavision.model.chat_format import ChatFormatError, encode_conversation, stop_token_ids
from ayavision.model.tokens import END_OF_IMG, IMG_PATCH, START_OF_IMG, tile_tags
from ayavision.train.mixture import SourcedRecord

IGNORE = -100


@dataclass
class Sample:
    """One tokenised conversation. ``targets[t]`` is the token to predict at position t, or IGNORE."""

    id: str
    input_ids: list[int]
    targets: list[int]
    pixel_values: torch.Tensor | None  # (tiles, 3, H, W) for all the sample's images, in order
    source: tuple[str, int] = ("", -1)  # (bucket, index in the bucket): enough to rebuild it on resume

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def supervised(self) -> int:
        return sum(t != IGNORE for t in self.targets)


class SampleError(ValueError):
    """A record the chat template cannot supervise (no assistant tokens found): a setup error, not a data one."""


class SampleBuilder:
    """Tokenise with the model's own processor and chat template, and apply the overflow policy.

    Any chat template works: assistant tokens are found by rendering conversation prefixes (see
    ``ayavision.model.chat_format``), each answer supervised through its stop token. ``stop_ids``: the model's
    stop tokens (its generation config's eos ids); by default the tokenizer's.
    Returns None for a sample that cannot be trained on; the reason goes to ``skip_reason``.
    """

    def __init__(
        self,
        processor: AyaVisionProcessor,
        seq_len: int,
        overflow: str = "truncate",
        stop_ids: int | list[int] | None = None,
    ) -> None:
        self.processor = processor
        self.stop_ids = stop_token_ids(processor.tokenizer, stop_ids)
        self.seq_len = seq_len
        self.overflow = overflow
        tokenizer = processor.tokenizer
        self.image_token_ids = set(tokenizer.convert_tokens_to_ids([IMG_PATCH, START_OF_IMG, END_OF_IMG, *tile_tags()]))
        self.end_of_image = tokenizer.convert_tokens_to_ids(END_OF_IMG)
        self.skip_reason: str | None = None
        self.truncated = False

    def build(self, item: SourcedRecord, source: tuple[str, int] = ("", -1)) -> Sample | None:
        self.skip_reason, self.truncated = None, False
        record = item.record
        images = iter(load_images(record, item.root) if record.images else [])
        messages = []
        for message in record.messages:
            content = []
            for part in message.content:
                if part.type == "image":
                    content.append({"type": "image", "image": next(images)})
                else:
                    content.append({"type": "text", "text": part.text})
            messages.append({"role": message.role, "content": content})
        try:
            encoded = encode_conversation(self.processor, messages, self.stop_ids)
        except ChatFormatError as err:
            raise SampleError(f"record {record.id!r}: {err}") from None
        ids, mask = encoded.input_ids, encoded.assistant_mask
        if not any(mask):
            raise SampleError(f"record {record.id!r}: the chat template renders no assistant answer")
        if any(m and i in self.image_token_ids for i, m in zip(ids, mask, strict=True)):
            raise SampleError(f"record {record.id!r}: image tokens inside an assistant turn would be supervised")
        targets = [ids[t + 1] if mask[t + 1] else IGNORE for t in range(len(ids) - 1)] + [IGNORE]
        pixel_values = encoded.pixel_values
        if len(ids) > self.seq_len:
            if self.overflow == "skip":
                return self._skip("longer than seq_len")
            last_image_end = max((t for t, i in enumerate(ids) if i == self.end_of_image), default=-1)
            if last_image_end >= self.seq_len:
                return self._skip("an image does not fit in seq_len")  # never cut inside an image
            ids, targets = ids[: self.seq_len], targets[: self.seq_len]
            targets[-1] = IGNORE  # its next token was cut away
            if all(t == IGNORE for t in targets):
                return self._skip("no answer left after truncation")
            self.truncated = True
        return Sample(record.id, ids, targets, pixel_values, source)

    def _skip(self, reason: str) -> None:
        self.skip_reason = reason
        return None
