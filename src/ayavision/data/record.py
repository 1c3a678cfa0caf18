"""The conversation record: the one sample format that annotation, training and evaluation exchange."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ayavision.data.errors import FieldIssue, RecordValidationError
from ayavision.languages import UnknownLanguageError, nllb_code

Task = Literal[
    "captioning",
    "vqa",
    "ocr",
    "chart",
    "table",
    "reasoning",
    "textbook",
    "multi_image",
    "screenshot_code",
    "text",
]
Bucket = Literal["original", "synthetic_en", "multilingual", "text"]
Role = Literal["system", "user", "assistant"]
PartType = Literal["image", "text"]

TASKS: tuple[str, ...] = get_args(Task)
BUCKETS: tuple[str, ...] = get_args(Bucket)
ROLES: tuple[str, ...] = get_args(Role)

_JSON_TYPE_NAMES = {dict: "object", list: "list", str: "string", int: "integer", float: "number", bool: "boolean"}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


NonBlankStr = Annotated[str, AfterValidator(_not_blank)]


class ContentPart(BaseModel):
    """One piece of a message: an image placeholder (the image itself is in ``record.images``) or text."""

    model_config = ConfigDict(extra="forbid")

    type: PartType
    # validate_default: a text part that omits "text" must be caught, not silently kept as None.
    text: str | None = Field(default=None, validate_default=True)

    @field_validator("text")
    @classmethod
    def _text_matches_type(cls, text: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("type")
        if kind == "text":
            if text is None:
                raise ValueError("a text part needs a 'text' string")
            if not text.strip():
                raise ValueError("empty text")
        # Parquet stores every part with both columns, so an image part arrives with text None.
        elif kind == "image" and text is not None:
            raise ValueError("an image part carries no text (put the text in its own part)")
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"type": "image"} if self.type == "image" else {"type": "text", "text": self.text}


def image_part() -> ContentPart:
    return ContentPart(type="image")


def text_part(text: str) -> ContentPart:
    return ContentPart(type="text", text=text)


class Message(BaseModel):
    """One turn of a conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    content: list[ContentPart] = Field(min_length=1)

    @field_validator("content", mode="before")
    @classmethod
    def _string_is_one_text_part(cls, content: Any) -> Any:
        if isinstance(content, str):
            return [{"type": "text", "text": content}]
        if not isinstance(content, list):
            raise ValueError(f"must be a list of parts or a string, got {_type_name(content)}")
        return content

    @model_validator(mode="after")
    def _images_only_from_user(self) -> Message:
        # Chat templates place images in user turns only; an image elsewhere would be dropped or misplaced.
        if self.role != "user" and self.image_count():
            raise ValueError(f"image parts belong in user turns, not in {self.role} turns")
        return self

    def image_count(self) -> int:
        return sum(part.type == "image" for part in self.content)

    def text(self) -> str:
        """The text parts joined by newlines, images left out."""
        return "\n".join(part.text for part in self.content if part.type == "text" and part.text is not None)

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "content": [part.to_dict() for part in self.content]}


class EmbeddedImage(BaseModel):
    """Image bytes carried inside the record, as ``datasets`` stores an ``Image`` feature in Parquet."""

    model_config = ConfigDict(extra="forbid")

    # Strict: JSON has no bytes, and a string silently encoded to bytes would never decode as an image.
    bytes: Annotated[bytes, Strict()]
    path: str | None = None  # the file name it came from, kept for provenance only

    def to_dict(self) -> dict[str, Any]:
        return {"bytes": self.bytes, "path": self.path}


def _coerce_image(value: Any) -> Any:
    """A path string, or a ``{bytes, path}`` struct; a struct without bytes is a path reference."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("image path must not be empty")
        return value
    if isinstance(value, dict):
        unknown = set(value) - {"bytes", "path"}
        if unknown:
            raise ValueError(f"an embedded image has only 'bytes' and 'path', got {sorted(unknown)}")
        if value.get("bytes") is None:
            path = value.get("path")
            if not isinstance(path, str) or not path.strip():
                raise ValueError("an image struct needs 'bytes' or a 'path'")
            return path
        if not isinstance(value["bytes"], bytes):
            raise ValueError(
                f"image bytes must be binary, got {_type_name(value['bytes'])} "
                "(JSONL records name image files; embed bytes in Parquet)"
            )
        return EmbeddedImage(bytes=value["bytes"], path=value.get("path"))
    if isinstance(value, EmbeddedImage):
        return value
    raise ValueError(f"must be a path string or a {{bytes, path}} object, got {_type_name(value)}")


ImageRef = Annotated[str | EmbeddedImage, BeforeValidator(_coerce_image)]
_IMAGE_LIST = TypeAdapter(list[ImageRef])


def parse_images(raw_images: Any) -> list[str | EmbeddedImage] | None:
    """The ``images`` of a raw record as paths and embedded images, or None if they are malformed.

    Lets a validator still check the images of a record that fails on some other field.
    """
    try:
        return _IMAGE_LIST.validate_python(raw_images)
    except ValidationError:
        return None


class ConversationRecord(BaseModel):
    """One sample: images plus a chat in Hugging Face format, with language, task, source and bucket."""

    model_config = ConfigDict(extra="forbid")

    id: NonBlankStr
    # Declared before messages so that the messages validator can compare image counts.
    images: list[ImageRef] = Field(default_factory=list)
    messages: list[Message] = Field(min_length=1)
    language: str
    task: Task
    source: NonBlankStr
    bucket: Bucket
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("language", mode="before")
    @classmethod
    def _normalise_language(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {_type_name(value)}")
        try:
            return nllb_code(value)
        except UnknownLanguageError as err:
            raise ValueError(str(err)) from None

    @field_validator("task", mode="before")
    @classmethod
    def _known_task(cls, value: Any) -> Any:
        if value not in TASKS:
            raise ValueError(f"unknown task {value!r}; must be one of: {', '.join(TASKS)}")
        return value

    @field_validator("bucket", mode="before")
    @classmethod
    def _known_bucket(cls, value: Any) -> Any:
        if value not in BUCKETS:
            raise ValueError(f"unknown bucket {value!r}; must be one of: {', '.join(BUCKETS)}")
        return value

    @field_validator("meta", mode="before")
    @classmethod
    def _meta_from_json(cls, value: Any) -> Any:
        # Parquet stores meta as JSON text (its keys differ between records); null means no provenance.
        if value is None:
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as err:
                raise ValueError(f"meta text is not JSON: {err.msg}") from None
        if not isinstance(value, dict):
            raise ValueError(f"must be an object, got {_type_name(value)}")
        return value

    @field_validator("messages")
    @classmethod
    def _conversation_is_trainable(cls, messages: list[Message], info: ValidationInfo) -> list[Message]:
        if not any(message.role == "assistant" for message in messages):
            raise ValueError("no assistant turn (only assistant turns are trained on)")
        images = info.data.get("images")
        if images is not None:  # absent when 'images' itself failed, which is reported on its own
            parts = sum(message.image_count() for message in messages)
            if parts != len(images):
                raise ValueError(f"{parts} image part(s) in the messages but {len(images)} image(s) in 'images'")
        return messages

    def image_count(self) -> int:
        return sum(message.image_count() for message in self.messages)

    def image_paths(self) -> list[str]:
        return [image for image in self.images if isinstance(image, str)]

    def has_embedded_images(self) -> bool:
        return any(isinstance(image, EmbeddedImage) for image in self.images)

    def user_prompt_text(self) -> str:
        """The text of the first user turn: the prompt a single-turn sample asks."""
        for message in self.messages:
            if message.role == "user":
                return message.text()
        return ""

    def assistant_texts(self) -> list[str]:
        """The text of each assistant turn, in order: what training learns and evaluation compares."""
        return [message.text() for message in self.messages if message.role == "assistant"]

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data; embedded images stay ``{bytes, path}`` (not JSON-serialisable)."""
        return {
            "id": self.id,
            "images": [image if isinstance(image, str) else image.to_dict() for image in self.images],
            "messages": [message.to_dict() for message in self.messages],
            "language": self.language,
            "task": self.task,
            "source": self.source,
            "bucket": self.bucket,
            "meta": self.meta,
        }


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _describe(error: Any) -> str:
    """Pydantic's messages, rephrased to say what the field must be."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return "missing required field"
    if kind == "extra_forbidden":
        return "unknown field" + (" (put extra information under 'meta')" if len(error["loc"]) == 1 else "")
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}, got {value!r}"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind == "too_short":
        return "must not be empty"
    if kind in ("string_type", "list_type", "bytes_type"):
        return f"must be a {kind.removesuffix('_type')}, got {_type_name(value)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be an object, got {_type_name(value)}"
    return str(error["msg"])


def validate_record(raw: Any) -> ConversationRecord:
    """Validate one raw record (a dict from JSON or Parquet), normalising language codes and string content.

    Raises ``RecordValidationError`` listing every field at fault, each named by its path.
    """
    if isinstance(raw, ConversationRecord):
        return raw
    if not isinstance(raw, dict):
        raise RecordValidationError([FieldIssue("", f"a record must be an object, got {_type_name(raw)}")])
    try:
        return ConversationRecord.model_validate(raw)
    except ValidationError as err:
        issues = [FieldIssue(_field_path(e["loc"]), _describe(e)) for e in err.errors(include_url=False)]
        raise RecordValidationError(issues) from None
