"""The errors the data package raises: all the user's to fix, so AyaVisionErrors (and ValueErrors), one line each."""

from __future__ import annotations

from typing import NamedTuple

from ayavision.errors import AyaVisionError


class DataError(AyaVisionError, ValueError):
    """A dataset, record or image that does not follow the conversation-record contract."""


class FieldIssue(NamedTuple):
    """One problem with one field of a record; ``field`` is a path such as ``messages[1].content[0].type``."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class RecordValidationError(DataError):
    """A record that fails the schema; carries every issue found, not just the first."""

    def __init__(self, issues: list[FieldIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))


class InvalidRecordError(DataError):
    """A record read from a file that is not valid; the message starts with ``FILE:LINE``."""


class ImageError(DataError):
    """An image that cannot be used: unsafe path, missing file, undecodable or too large."""


class UnsafeImagePathError(ImageError):
    """An image path that would leave the dataset root."""


class ImageNotFoundError(ImageError):
    """An image path that names no file."""


class ImageDecodeError(ImageError):
    """Bytes that PIL cannot decode as an image."""


class ImageTooLargeError(ImageError):
    """An image with more pixels than the limit: a possible decompression bomb."""
