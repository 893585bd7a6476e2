"""``trust`` and ``operator-record``: the operator's trust list, and who changed what."""

from __future__ import annotations

from pathlib import Path

import click

from trustsvc.cli.options import EnumValues, operator, operator_actor_option
from trustsvc.cli.output import print_json
from trustsvc.cli.runtime import opened, settings_of


def _operator_actions() -> list[str]:
    from trustsvc.audit.operators import OperatorAction

    return [action.value for action in OperatorAction]


@click.group("trust")
def trust() -> None:
    """The operator's trust list: roots whose seals verification accepts."""


@trust.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@operator_actor_option
@click.pass_context
def trust_add(ctx: click.Context, file: Path, actor: str | None) -> None:
    """Trust a root CA certificate (PEM or DER) besides the service's own."""
    from trustsvc.pki.trust import add_trust_anchor

    with opened(settings_of(ctx)) as runtime:
        print_json(add_trust_anchor(runtime.services, file.read_bytes(), operator(actor)))


@trust.command("list")
@click.pass_context
def trust_list(ctx: click.Context) -> None:
    """The roots added to the trust list (the service's own root is always trusted)."""
    from trustsvc.pki.trust import trust_anchors

    with opened(settings_of(ctx)) as runtime:
        print_json(trust_anchors(runtime.services))


@click.command("operator-record")
@click.option("--action", type=EnumValues(_operator_actions), help="Only this kind of change.")
@click.option("--actor", help="Only changes by this operator (OS user, --actor, admin client).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--before", type=click.IntRange(1, 2**31 - 1), help="Continue below this entry id.")
@click.pass_context
def operator_record(
    ctx: click.Context, action: str | None, actor: str | None, limit: int, before: int | None
) -> None:
    """Who changed clients, departments, seals and the trust list: JSON, newest first."""
    from trustsvc.audit.operators import OperatorAction, operator_events

    with opened(settings_of(ctx)) as runtime:
        print_json(
            operator_events(
                runtime.services,
                limit=limit,
                before=before,
                action=OperatorAction(action) if action else None,
                actor=actor,
            )
        )
