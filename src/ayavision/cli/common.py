"""What every CLI command shares: one console; user errors as one red line (exit 2), bugs as a traceback (exit 1)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from ayavision.errors import USER_ERRORS
from ayavision.utils.errors import format_validation_error

console = Console()
err_console = Console(stderr=True)

# Exit status of a user error. 1 is what Python gives an uncaught exception (a bug, with its traceback): a script
# can tell "fix your input" from "report a bug".
USER_ERROR_EXIT = 2


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Show a user error raised in the block (``ayavision.errors.USER_ERRORS``) as one red line, exit status 2.

    Any other exception is a bug: it propagates unchanged, so its traceback is printed.
    """
    try:
        yield
    except ValidationError as err:
        fail(format_validation_error(err))
    except USER_ERRORS as err:
        # A KeyError subclass's str() is its repr; the quotes are noise on a message.
        fail(str(err) if not isinstance(err, KeyError) else str(err).strip("'\""))


def fail(message: str) -> NoReturn:
    """Print one red error line (never wrapped, so FILE:LINE stays whole) and exit with status 2."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(USER_ERROR_EXIT)
