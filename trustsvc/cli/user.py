"""``user``: staff of the service's pages (clerks, officers, administrators, auditors)."""

from __future__ import annotations

import click

from trustsvc.cli.options import EnumValues, operator, operator_actor_option
from trustsvc.cli.output import print_json
from trustsvc.cli.runtime import opened, settings_of


def _roles() -> list[str]:
    from trustsvc.db.models import StaffRole

    return [role.value for role in StaffRole]


@click.group("user")
def user() -> None:
    """Staff users of the pages: their roles and departments (the identity provider says who)."""


@user.command("add")
@click.argument("subject")
@click.option("--name", required=True, help="The person's name, as pages and records show it.")
@click.option("--role", required=True, type=EnumValues(_roles), help="What they do.")
@click.option("--department", "department_code", help="Officer, department admin: its code.")
@click.option("--hall", help="Clerk: the service hall (政务服务中心).")
@click.option("--window", help="Clerk: the window (窗口).")
@click.option(
    "--purpose",
    "purposes",
    multiple=True,
    help="Clerk: a purpose (用证事由) the window may state; repeat for several.",
)
@operator_actor_option
@click.pass_context
def user_add(
    ctx: click.Context,
    subject: str,
    name: str,
    role: str,
    department_code: str | None,
    hall: str | None,
    window: str | None,
    purposes: tuple[str, ...],
    actor: str | None,
) -> None:
    """Add a member of staff, known by the identity provider's SUBJECT (its ``sub``)."""
    from trustsvc.staff.users import StaffRole, add_user

    with opened(settings_of(ctx)) as runtime:
        member = add_user(
            runtime.services,
            subject,
            name,
            StaffRole(role),
            department_code=department_code,
            hall=hall,
            window=window,
            purposes=purposes,
            operator=operator(actor),
        )
        click.echo(f"staff user {member.subject} ({member.role.value}) added")


@user.command("list")
@click.option("--department", "department_code", help="Only this department's staff.")
@click.pass_context
def user_list(ctx: click.Context, department_code: str | None) -> None:
    """List staff users (JSON)."""
    from trustsvc.staff.users import list_users

    with opened(settings_of(ctx)) as runtime:
        print_json(list_users(runtime.services, department_code))


@user.command("disable")
@click.argument("subject")
@operator_actor_option
@click.pass_context
def user_disable(ctx: click.Context, subject: str, actor: str | None) -> None:
    """Disable a member of staff: signed out at their next request; their acting client revoked."""
    from trustsvc.staff.users import disable_user

    with opened(settings_of(ctx)) as runtime:
        member = disable_user(runtime.services, subject, operator(actor))
        click.echo(f"staff user {member.subject} disabled")
