"""What every CLI command shares: one console, and user errors shown as one red line with exit code 1."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from ayavision.utils.errors import format_validation_error

console = Console()
err_console = Console(stderr=True)

# Errors that are the user's to fix: shown without a traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, FileExistsError, KeyError, OSError)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except ValidationError as err:
        fail(format_validation_error(err))
    except USER_ERRORS as err:
        fail(str(err) if not isinstance(err, KeyError) else str(err).strip("'\""))


def fail(message: str) -> NoReturn:
    """Print one red error line (never wrapped, so FILE:LINE stays whole) and exit with status 1."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)
