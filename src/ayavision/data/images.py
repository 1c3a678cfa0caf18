"""Open a record's images safely: paths stay inside the dataset root and pixel counts stay bounded."""

from __future__ import annotations

import contextlib
import io
import posixpath
import re
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

from PIL import Image, UnidentifiedImageError

from ayavision.data.errors import (
    DataError,
    ImageDecodeError,
    ImageNotFoundError,
    ImageTooLargeError,
    UnsafeImagePathError,
)
from ayavision.data.record import ConversationRecord

# 2**28 pixels is a 16384 x 16384 image: far above any training resolution, far below what exhausts memory.
DEFAULT_MAX_PIXELS = 2**28

# PIL reads its bomb limit from a module global; the lock keeps two callers with different limits apart.
_PIL_LIMIT_LOCK = threading.Lock()


def resolve_image_path(root: str | Path, relpath: str) -> Path:
    """The file an image path names under ``root``; refuses absolute paths and any ``..`` component.

    The check is lexical on purpose: symlinks inside the root (a Hugging Face cache links to its blobs)
    are allowed, while ``link/../x`` — which the kernel resolves through the link's target — is not.
    """
    if not relpath or "\x00" in relpath:
        raise UnsafeImagePathError(f"image path {relpath!r} is not a valid file name")
    if PurePosixPath(relpath).is_absolute() or PureWindowsPath(relpath).drive or relpath.startswith("\\"):
        raise UnsafeImagePathError(f"image path {relpath!r} is absolute; it must be relative to the dataset root")
    if ".." in PurePosixPath(relpath.replace("\\", "/")).parts:
        raise UnsafeImagePathError(f"image path {relpath!r} escapes the dataset root ('..' is not allowed)")
    return Path(root) / posixpath.normpath(relpath)


def read_image_bytes(root: str | Path, relpath: str) -> bytes:
    path = resolve_image_path(root, relpath)
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise ImageNotFoundError(f"image file {relpath!r} not found under {root}") from None


@contextlib.contextmanager
def _pixel_limit(max_pixels: int | None) -> Iterator[None]:
    """Make PIL enforce ``max_pixels`` and turn its bomb warning into an error, for this block only."""
    with _PIL_LIMIT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def _too_large(label: str, pixels: int | str, max_pixels: int | None) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"{label} has {pixels} pixels, over the limit of {max_pixels} (possible decompression bomb)"
    )


def open_image(
    data: bytes, *, label: str = "image", max_pixels: int | None = DEFAULT_MAX_PIXELS, decode: bool = True
) -> Image.Image:
    """Open image bytes within the pixel limit; ``decode=False`` reads the header only (size, format).

    ``max_pixels=None`` disables the limit. Raises ``ImageTooLargeError`` or ``ImageDecodeError``.
    """
    with _pixel_limit(max_pixels):
        try:
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            # Plugins that skip PIL's own check still get caught here, before any pixel is decoded.
            if max_pixels is not None and width * height > max_pixels:
                raise _too_large(label, width * height, max_pixels)
            if decode:
                image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            match = re.search(r"\((\d+) pixels\)", str(err))
            raise _too_large(label, match.group(1) if match else "more", max_pixels) from None
        except ImageTooLargeError:
            raise
        # PIL's format plugins raise many exception types (OSError, SyntaxError, struct.error, ...) on corrupt data.
        except Exception as err:
            # PIL's own message names the BytesIO object, which means nothing to the reader.
            reason = "not a recognised image format" if isinstance(err, UnidentifiedImageError) else str(err)
            raise ImageDecodeError(f"cannot decode {label}: {reason}") from None
    return image


def _image_bytes(record: ConversationRecord, root: str | Path | None) -> Iterator[tuple[bytes, str]]:
    """Each image's encoded bytes and a label naming it for errors, in order."""
    for index, image in enumerate(record.images):
        if isinstance(image, str):
            if root is None:
                raise DataError(f"record {record.id!r} names image files but no dataset root was given")
            yield read_image_bytes(root, image), repr(image)
        else:
            yield image.bytes, f"embedded image {index}" + (f" ({image.path!r})" if image.path else "")


def load_images(
    record: ConversationRecord, root: str | Path | None = None, *, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> list[Image.Image]:
    """The record's images, decoded, in order; paths are read under ``root`` (the dataset root)."""
    return [open_image(data, label=label, max_pixels=max_pixels) for data, label in _image_bytes(record, root)]


def image_sizes(
    record: ConversationRecord, root: str | Path | None = None, *, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> list[tuple[int, int]]:
    """(height, width) of the record's images, in order, read from their headers: no pixel is decoded."""
    sizes = []
    for data, label in _image_bytes(record, root):
        width, height = open_image(data, label=label, max_pixels=max_pixels, decode=False).size
        sizes.append((height, width))
    return sizes
