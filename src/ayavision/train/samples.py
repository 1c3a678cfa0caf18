"""Turn a conversation record into token ids and next-token targets: only assistant tokens are supervised."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import AyaVisionProcessor

from ayavision.data.images import image_sizes, load_images
from ayavision.errors import AyaVisionError
from ayavision.model.chat_format import ChatFormatError, plan_conversation, stop_token_ids
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
    tiles: int = 0  # the image tiles the sample holds; pixel_values None with tiles > 0: pixels not made yet

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def supervised(self) -> int:
        return sum(t != IGNORE for t in self.targets)


class SampleError(AyaVisionError, ValueError):
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
        """The whole sample, pixels included: :meth:`plan` then :meth:`pixels`."""
        sample = self.plan(item, source)
        if sample is not None and sample.tiles:
            sample.pixel_values = self.pixels(item)
        return sample

    def plan(self, item: SourcedRecord, source: tuple[str, int] = ("", -1)) -> Sample | None:
        """Tokens, targets and length from the text and the images' sizes: no pixel is decoded.

        Packing needs every sample's length, but a process needs pixels only for the rows it trains on: this is
        the part every process computes for every sample; :meth:`pixels` is the part done once, where needed.
        """
        self.skip_reason, self.truncated = None, False
        record = item.record
        sizes = image_sizes(record, item.root) if record.images else []
        messages = [
            {
                "role": message.role,
                "content": [
                    {"type": "image"} if part.type == "image" else {"type": "text", "text": part.text}
                    for part in message.content
                ],
            }
            for message in record.messages
        ]
        try:
            encoded, tiles = plan_conversation(self.processor, messages, self.stop_ids, sizes)
        except ChatFormatError as err:
            raise SampleError(f"record {record.id!r}: {err}") from None
        ids, mask = encoded.input_ids, encoded.assistant_mask
        if not any(mask):
            raise SampleError(f"record {record.id!r}: the chat template renders no assistant answer")
        if any(m and i in self.image_token_ids for i, m in zip(ids, mask, strict=True)):
            raise SampleError(f"record {record.id!r}: image tokens inside an assistant turn would be supervised")
        targets = [ids[t + 1] if mask[t + 1] else IGNORE for t in range(len(ids) - 1)] + [IGNORE]
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
        return Sample(record.id, ids, targets, None, source, sum(tiles))

    def pixels(self, item: SourcedRecord) -> torch.Tensor | None:
        """The record's images decoded and tiled by the processor: (tiles, 3, H, W), images in order."""
        if not item.record.images:
            return None
        images = load_images(item.record, item.root)
        return self.processor(images=[images], return_tensors="pt")["pixel_values"]

    def _skip(self, reason: str) -> None:
        self.skip_reason = reason
        return None
