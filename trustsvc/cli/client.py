"""``client``: API clients (issuer, verifier, admin) and their keys."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import click

from trustsvc.cli.options import EnumValues, operator, operator_actor_option
from trustsvc.cli.output import print_json
from trustsvc.cli.runtime import opened, settings_of

if TYPE_CHECKING:
    from trustsvc.sharing.clients import ClientInfo, IssuedKey


def _roles() -> list[str]:
    from trustsvc.db.models import ClientRole

    return [role.value for role in ClientRole]


def _print_key(info: ClientInfo, key: IssuedKey) -> None:
    click.echo(f"client {info.client.name} ({info.client.role.value}); its API key, shown once:")
    click.echo(key.secret)


@click.group("client")
def client() -> None:
    """API clients (issuer, verifier, admin) and their keys."""


@client.command("add")
@click.argument("name")
@click.option("--role", required=True, type=EnumValues(_roles), help="What it may do.")
@click.option("--department", "department_code", help="Issuer: the department it acts for.")
@click.option(
    "--purpose",
    "purposes",
    multiple=True,
    help="Verifier: a purpose (用证事由) it may state; repeat for several.",
)
@click.option("--rate-limit", type=click.IntRange(1, 1_000_000), help="Requests a minute.")
@operator_actor_option
@click.pass_context
def client_add(
    ctx: click.Context,
    name: str,
    role: str,
    department_code: str | None,
    purposes: tuple[str, ...],
    rate_limit: int | None,
    actor: str | None,
) -> None:
    """Make an API client and print its key (once: it is stored only hashed)."""
    from trustsvc.db.models import ClientRole
    from trustsvc.sharing.clients import add_client

    with opened(settings_of(ctx)) as runtime:
        info, key = add_client(
            runtime.services,
            name,
            ClientRole(role),
            department_code=department_code,
            purposes=purposes,
            rate_limit_per_minute=rate_limit,
            operator=operator(actor),
        )
        _print_key(info, key)


@client.command("list")
@click.pass_context
def client_list(ctx: click.Context) -> None:
    """List API clients and their active key ids (JSON; no secrets)."""
    from trustsvc.sharing.clients import list_clients

    with opened(settings_of(ctx)) as runtime:
        print_json(list_clients(runtime.services))


@client.command("revoke")
@click.argument("name")
@operator_actor_option
@click.pass_context
def client_revoke(ctx: click.Context, name: str, actor: str | None) -> None:
    """Revoke a client: every key of it is refused (within seconds on running nodes)."""
    from trustsvc.sharing.clients import revoke_client

    with opened(settings_of(ctx)) as runtime:
        print_json(revoke_client(runtime.services, name, operator(actor)))


@client.command("rotate")
@click.argument("name")
@click.option(
    "--grace-hours",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 720),
    help="How long the old keys keep working.",
)
@operator_actor_option
@click.pass_context
def client_rotate(ctx: click.Context, name: str, grace_hours: float, actor: str | None) -> None:
    """Give a client a new key; print it once."""
    from trustsvc.sharing.clients import get_client, rotate_key

    with opened(settings_of(ctx)) as runtime:
        key = rotate_key(runtime.services, name, timedelta(hours=grace_hours), operator(actor))
        _print_key(get_client(runtime.services, name), key)
