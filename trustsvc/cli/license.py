"""``license``: licenses in the library: show, list, their history and numbers, lifecycle."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from trustsvc.cli.options import EnumValues, read_data_file, recorded_actor_option
from trustsvc.cli.output import json_object, local_time, print_json
from trustsvc.cli.runtime import opened, settings_of

if TYPE_CHECKING:
    from trustsvc.licenses.library import Action


def _statuses() -> list[str]:
    from trustsvc.db.models import LicenseStatus

    return [status.value for status in LicenseStatus]


def _revocation_kinds() -> list[str]:
    from trustsvc.licenses.library import RevocationKind

    return [kind.value for kind in RevocationKind]


_number_department_option = click.option(
    "--department",
    "department_code",
    help="Look a printed number up among this department's licenses only.",
)
_identifier_argument = click.argument("identifier")


@click.group("license")
def license_group() -> None:
    """Licenses in the library: show, list, and lifecycle changes."""


@license_group.command("show")
@_identifier_argument
@_number_department_option
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the PDF."
)
@click.pass_context
def license_show(
    ctx: click.Context, identifier: str, department_code: str | None, out_path: Path | None
) -> None:
    """Show one license (JSON), named by its identifier or its printed number (证照编号).

    ``issued_at`` is UTC; ``issued_at_local`` the same moment in the service's time zone.
    """
    with opened(settings_of(ctx)) as runtime:
        view = runtime.licenses.show(identifier, department_code)
        shown = json_object(view)
        shown["issued_at_local"] = local_time(view.issued_at, runtime.settings.zone)
        print_json(shown)
        if out_path is not None:
            out_path.write_bytes(runtime.licenses.document(view.identifier))


@license_group.command("history")
@_identifier_argument
@_number_department_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable (times in UTC).")
@click.pass_context
def license_history(
    ctx: click.Context, identifier: str, department_code: str | None, as_json: bool
) -> None:
    """Every lifecycle event of a license (all versions): who, when, why, from and to status."""
    with opened(settings_of(ctx)) as runtime:
        history = runtime.licenses.history(identifier, department_code)
        zone = runtime.settings.zone
    if as_json:
        print_json(history)
        return
    click.echo(f"{history.license_number}  {history.identifier}")
    for event in history.events:
        change = f"{event.from_status or '-'} -> {event.to_status}"
        why = f"  reason: {event.reason}" if event.reason else ""
        click.echo(
            f"{local_time(event.at, zone)}  v{event.version}  {event.action:<8} {change:<24}"
            f" by {event.actor}{why}"
        )


@license_group.command("numbers")
@click.option("--department", "department_code", required=True, help="The department's code.")
@click.option("--type", "type_key", required=True, help="License type key.")
@click.option("--year", required=True, type=click.IntRange(1000, 9999), help="Year of issue.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable (times in UTC).")
@click.pass_context
def license_numbers(
    ctx: click.Context, department_code: str, type_key: str, year: int, as_json: bool
) -> None:
    """Every printed number (证照编号) reserved in a year: issued, void (作废) or reserved."""
    from trustsvc.licenses.numbers import account
    from trustsvc.licenses.types import get_type

    with opened(settings_of(ctx)) as runtime:
        license_type = get_type(runtime.types, type_key)
        with runtime.services.database.begin() as session:
            ledger = account(
                session,
                department_code.strip().upper(),
                license_type.key,
                license_type.number_scope_year(year),
                year,
            )
        zone = runtime.settings.zone
    if as_json:
        print_json(ledger)
        return
    for entry in ledger.entries:
        what = entry.identifier if entry.state == "issued" else entry.void_reason or ""
        click.echo(
            f"{entry.number}  {entry.state:<8}  {local_time(entry.reserved_at, zone)}  {what}"
        )
    click.echo(
        f"first={ledger.first or '-'} last={ledger.last or '-'} issued={ledger.issued} "
        f"void={ledger.void} reserved={ledger.reserved} missing={len(ledger.missing)}"
    )


@license_group.command("list")
@click.option("--department", "department_code", help="Only this issuer's licenses.")
@click.option("--type", "type_key", help="Only this license type.")
@click.option("--status", type=EnumValues(_statuses))
@click.option("--holder-id", help="Only this holder's licenses (needs --holder-id-type).")
@click.option("--holder-id-type", help="Holder ID type code, e.g. 001 or 111.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0))
@click.pass_context
def license_list(
    ctx: click.Context,
    department_code: str | None,
    type_key: str | None,
    status: str | None,
    holder_id: str | None,
    holder_id_type: str | None,
    limit: int,
    offset: int,
) -> None:
    """List licenses, newest first (JSON)."""
    from trustsvc.db.models import LicenseStatus
    from trustsvc.licenses.library import LicenseQuery

    with opened(settings_of(ctx)) as runtime:
        licenses = runtime.licenses
        query = LicenseQuery(
            department_code=department_code,
            type_key=type_key,
            status=LicenseStatus(status) if status else None,
            limit=limit,
            offset=offset,
        )
        print_json(licenses.search(query, holder_id, holder_id_type))


def _transition(
    ctx: click.Context, identifier: str, action: Action, reason: str | None, actor: str
) -> None:
    with opened(settings_of(ctx)) as runtime:
        print_json(runtime.licenses.transition(identifier, action, actor, reason))


@license_group.command("suspend")
@_identifier_argument
@click.option("--reason", required=True, help="Why (recorded).")
@recorded_actor_option
@click.pass_context
def license_suspend(ctx: click.Context, identifier: str, reason: str, actor: str) -> None:
    """Suspend a license (暂停)."""
    from trustsvc.licenses.library import Action

    _transition(ctx, identifier, Action.SUSPEND, reason, actor)


@license_group.command("resume")
@_identifier_argument
@click.option("--reason", help="Why (recorded).")
@recorded_actor_option
@click.pass_context
def license_resume(ctx: click.Context, identifier: str, reason: str | None, actor: str) -> None:
    """Resume a suspended license (恢复)."""
    from trustsvc.licenses.library import Action

    _transition(ctx, identifier, Action.RESUME, reason, actor)


@license_group.command("revoke")
@_identifier_argument
@click.option(
    "--kind",
    type=EnumValues(_revocation_kinds),
    required=True,
    help="cancelled: 注销 (on request, no longer needed); withdrawn: 吊销 (a sanction).",
)
@click.option("--reason", required=True, help="The grounds (recorded, shown to verifiers).")
@recorded_actor_option
@click.pass_context
def license_revoke(ctx: click.Context, identifier: str, kind: str, reason: str, actor: str) -> None:
    """Revoke a license: 注销 (cancel) or 吊销 (withdraw)."""
    from trustsvc.licenses.library import Action, RevocationKind

    with opened(settings_of(ctx)) as runtime:
        view = runtime.licenses.transition(
            identifier, Action.REVOKE, actor, reason, revocation_kind=RevocationKind(kind)
        )
        print_json(view)


@license_group.command("change")
@_identifier_argument
@click.option(
    "--data",
    "data_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file with the fields that change.",
)
@click.option("--reason", required=True, help="Why (recorded).")
@recorded_actor_option
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the new PDF."
)
@click.pass_context
def license_change(
    ctx: click.Context,
    identifier: str,
    data_path: Path,
    reason: str,
    actor: str,
    out_path: Path | None,
) -> None:
    """Change a license (变更): issue the next version; the old one is superseded."""
    changes = read_data_file(data_path)
    with opened(settings_of(ctx)) as runtime:
        result = runtime.licenses.change(identifier, changes, actor, reason)
        if out_path is not None:
            out_path.write_bytes(runtime.licenses.document(result.license.identifier))
        print_json(result.license)


@license_group.command("present")
@_identifier_argument
@click.option("--lifetime", type=click.IntRange(30, 86400), help="Seconds the code is accepted.")
@click.option("--single-use", is_flag=True, help="Refuse the code after its first check.")
@click.option(
    "--purpose", help="Why it is shown (用证事由): only a checker stating it may check it."
)
@click.option(
    "--verifier",
    "intended_verifier",
    help="The verifier client it is for: only that client may check it.",
)
@recorded_actor_option
@click.pass_context
def license_present(
    ctx: click.Context,
    identifier: str,
    lifetime: int | None,
    single_use: bool,
    purpose: str | None,
    intended_verifier: str | None,
    actor: str,
) -> None:
    """Make a short-lived presentation code (亮证) for a current license."""
    from trustsvc.holders.presentation import present

    with opened(settings_of(ctx)) as runtime:
        code = present(
            runtime.services,
            identifier,
            actor=actor,
            lifetime=timedelta(seconds=lifetime) if lifetime else None,
            single_use=single_use,
            purpose=purpose,
            intended_verifier=intended_verifier,
        )
    print_json(code)


@license_group.command("checks")
@_identifier_argument
@click.pass_context
def license_checks(ctx: click.Context, identifier: str) -> None:
    """Who checked this license, when and why (what its holder may see)."""
    from trustsvc.holders.presentation import checks_of

    with opened(settings_of(ctx)) as runtime:
        print_json(checks_of(runtime.services.database, identifier))
