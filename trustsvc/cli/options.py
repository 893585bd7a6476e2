"""Options and readers that several command groups share.

Choices are an enum's values, read when a command first needs them
(:class:`EnumValues`): the enums live in modules that load the database layer,
which ``trustsvc --help`` should not wait for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import click

from trustsvc.errors import InvalidInputError

if TYPE_CHECKING:
    from cryptography import x509

    from trustsvc.audit.operators import Operator


class EnumValues(click.Choice[str]):
    """A choice among values that ``values()`` reads from an enum on first use."""

    def __init__(self, values: Callable[[], Iterable[str]]) -> None:
        super().__init__(())
        self._values = values
        self._loaded: tuple[str, ...] | None = None  # not the () just set: read on first use

    @property
    def choices(self) -> tuple[str, ...]:
        if self._loaded is None:
            self._loaded = tuple(self._values())
        return self._loaded

    @choices.setter
    def choices(self, values: tuple[str, ...]) -> None:
        self._loaded = tuple(values)


def revocation_reasons(*refused: x509.ReasonFlags) -> list[str]:
    """RFC 5280 reason codes in their CLI spelling, but those in ``refused``."""
    from trustsvc.pki.revocation import REASONS

    return [name for name, flag in REASONS.items() if flag not in refused]


#: For changes kept in the operator record: the actor defaults to the OS user.
operator_actor_option = click.option(
    "--actor",
    help="Who is acting, for the operator record (default: the operating-system user).",
)

#: For lifecycle changes of a license: the actor is recorded with the event.
recorded_actor_option = click.option(
    "--actor", default="operator", show_default=True, help="Who acts (recorded)."
)


def operator(actor: str | None) -> Operator:
    """The operator at this command line: ``actor``, or the operating-system user."""
    from trustsvc.audit.operators import Operator

    return Operator.local(actor)


def parse_moment(text: str, zone: tzinfo, option: str) -> datetime:
    """An ISO 8601 time from the command line; a time without an offset is in ``zone``."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(f"{option}: {text!r} is not an ISO 8601 time") from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def read_data_file(path: Path) -> dict[str, object]:
    """A license's field values: one JSON object, bounded like a batch row, or one error."""
    from trustsvc.licenses.batch import MAX_LINE_BYTES, check_row
    from trustsvc.strictjson import parse_json

    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_LINE_BYTES + 1)
    except OSError as exc:
        raise InvalidInputError(f"{path} cannot be read: {exc.strerror}") from exc
    if len(raw) > MAX_LINE_BYTES:
        raise InvalidInputError(f"{path} is larger than {MAX_LINE_BYTES} bytes")
    try:
        data = parse_json(raw)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path} is not a readable JSON file: {exc.message}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path} must hold one JSON object of field values")
    try:
        check_row(data)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}: {exc.message}") from None
    return data
