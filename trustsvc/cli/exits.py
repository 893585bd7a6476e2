"""Exit codes, and the one line on stderr that every failure of a command is.

``trustsvc: error: ...`` and an exit code: 1 failure, 2 usage (click's own),
3 an offline ``valid_offline``, 65 invalid input or conflict, 66 not found,
78 configuration (home, database, keys, passphrase).
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from pydantic import ValidationError

from trustsvc.errors import (
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    KeyStoreError,
    NotFoundError,
    TrustServiceError,
)

EXIT_FAILURE = 1
EXIT_INVALID_INPUT = 65
EXIT_NOT_FOUND = 66
EXIT_CONFIGURATION = 78
#: ``verify`` and ``verify-token`` exit 0 for an online ``valid``, this for an offline
#: ``valid_offline`` (the seal holds; the library was not asked), 1 for anything else.
EXIT_VALID_OFFLINE = 3


def exit_code(error: TrustServiceError) -> int:
    """The exit code a domain error ends a command with."""
    if isinstance(error, InvalidInputError | ConflictError):
        return EXIT_INVALID_INPUT
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, ConfigurationError | KeyStoreError):
        return EXIT_CONFIGURATION
    return EXIT_FAILURE


def fail(message: str, code: int) -> NoReturn:
    """End the command with one line on stderr and ``code``."""
    click.echo(f"trustsvc: error: {message}", err=True)
    sys.exit(code)


class CommandLine(click.Group):
    """The root group: turns the service's errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except TrustServiceError as exc:
            fail(exc.message, exit_code(exc))
        except ValidationError as exc:
            problems = "; ".join(
                f"TRUSTSVC_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
                for e in exc.errors()
            )
            fail(f"invalid settings: {problems}", EXIT_CONFIGURATION)
