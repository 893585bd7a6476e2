"""``types``: the license types (证照类型) this service can issue, and example data."""

from __future__ import annotations

import click

from trustsvc.cli.output import print_json


@click.group("types")
def types() -> None:
    """License types (证照类型)."""


@types.command("list")
def types_list() -> None:
    """List the license types this service can issue."""
    from trustsvc.licenses.types import load_types

    for kind in load_types().values():
        click.echo(f"{kind.key:<36} {kind.code}  {kind.name_zh} / {kind.name_en}")


@types.command("example")
@click.argument("type_key")
def types_example(type_key: str) -> None:
    """Print a complete, valid example data file for TYPE_KEY."""
    from trustsvc.licenses.types import example_data, get_type, load_types

    print_json(example_data(get_type(load_types(), type_key)))
