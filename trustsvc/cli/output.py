"""What commands print: the service's dataclasses as JSON, moments as people read them."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, tzinfo

import click


def to_json(value: object) -> object:
    """``value`` with dataclasses as dicts, tuples as lists and dates in ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: to_json(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value


def json_object(value: object) -> dict[str, object]:
    """A dataclass as a JSON object, for a command that adds a field before printing it."""
    shown = to_json(value)
    if not isinstance(shown, dict):
        raise TypeError(f"{type(value).__name__} is not a dataclass")
    return shown


def print_json(value: object) -> None:
    click.echo(json.dumps(to_json(value), ensure_ascii=False, indent=2))


def local_time(moment: datetime, zone: tzinfo) -> str:
    """A moment as people read it: the service's time zone, to the second."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
