"""``purpose``: the purpose catalogue (用证事由) that verifier clients state."""

from __future__ import annotations

import click

from trustsvc.cli.options import operator, operator_actor_option
from trustsvc.cli.output import print_json
from trustsvc.cli.runtime import opened, settings_of


@click.group("purpose")
def purpose() -> None:
    """The purpose catalogue (用证事由): which license types a lookup under each may see."""


@purpose.command("add")
@click.argument("name")
@click.option(
    "--type", "type_keys", multiple=True, required=True, help="A type it may see; repeat."
)
@operator_actor_option
@click.pass_context
def purpose_add(
    ctx: click.Context, name: str, type_keys: tuple[str, ...], actor: str | None
) -> None:
    """Add a purpose and the license types it may see."""
    from trustsvc.sharing.purposes import add_purpose

    with opened(settings_of(ctx)) as runtime:
        print_json(add_purpose(runtime.services, name, type_keys, operator(actor)))


@purpose.command("list")
@click.pass_context
def purpose_list(ctx: click.Context) -> None:
    """List the catalogue (JSON); ``migrated`` entries came from old clients: review them."""
    from trustsvc.sharing.purposes import list_purposes

    with opened(settings_of(ctx)) as runtime:
        print_json(list_purposes(runtime.services))


@purpose.command("remove")
@click.argument("name")
@operator_actor_option
@click.pass_context
def purpose_remove(ctx: click.Context, name: str, actor: str | None) -> None:
    """Remove a purpose that no active client may state."""
    from trustsvc.sharing.purposes import remove_purpose

    with opened(settings_of(ctx)) as runtime:
        print_json(remove_purpose(runtime.services, name, operator(actor)))
