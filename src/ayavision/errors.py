"""The one root of the errors a user can fix: anything else that escapes is a bug and keeps its traceback."""

from __future__ import annotations

from pydantic import ValidationError


class AyaVisionError(Exception):
    """Something the user can fix: bad input, config, file, name. The CLI shows it as one line, exit status 2.

    Subclasses also keep the built-in base they always had (``class SpecError(AyaVisionError, ValueError)``), so
    callers catching ``ValueError`` still catch them.
    """


class ConfigError(AyaVisionError, ValueError):
    """A setting, config file, name or command-line argument that cannot be used; the message names it."""


class InputError(AyaVisionError, ValueError):
    """Input data (a dataset, an answers file, a model folder) that cannot be used for what was asked."""


# File problems a user causes (a wrong path, an existing output, no permission). Other OSErrors (a full disk, a
# network failure deep in a library) are not among them: they may hide a bug, so they keep their traceback.
FILE_ERRORS: tuple[type[OSError], ...] = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)

# Everything reported as a user error: our own, a pydantic validation of user-given values, and the file problems.
USER_ERRORS: tuple[type[Exception], ...] = (AyaVisionError, ValidationError, *FILE_ERRORS)
