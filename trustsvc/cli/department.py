"""``department``: issuing departments (颁发机构), their seals and license-type entitlements."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from trustsvc.cli.options import (
    EnumValues,
    operator,
    operator_actor_option,
    parse_moment,
    revocation_reasons,
)
from trustsvc.cli.output import print_json
from trustsvc.cli.runtime import opened, settings_of


def _seal_reasons() -> list[str]:
    from cryptography import x509

    # A seal certificate is not a CA's: a compromised CA is revoked as the CA.
    return revocation_reasons(x509.ReasonFlags.ca_compromise)


_code_option = click.option("--code", required=True, help="The department's credit code.")


@click.group("department")
def department() -> None:
    """Issuing departments (颁发机构) and their seal certificates."""


@department.command("add")
@click.option("--name", required=True, help="Department name, e.g. 某某市市场监督管理局.")
@click.option("--code", required=True, help="Unified social credit code (18 characters, GB 32100).")
@click.option("--region", help="Administrative division code (6 digits, GB/T 2260).")
@click.option("--no-seal", is_flag=True, help="Register only; the seal comes later (import-seal).")
@click.option(
    "--kind",
    help="Department kind, e.g. market-regulation (市场监督管理); default: what the name states.",
)
@operator_actor_option
@click.pass_context
def department_add(
    ctx: click.Context,
    name: str,
    code: str,
    region: str | None,
    no_seal: bool,
    kind: str | None,
    actor: str | None,
) -> None:
    """Register a department and issue its seal certificate."""
    from trustsvc.departments.registry import add_department

    with opened(settings_of(ctx)) as runtime:
        print_json(
            add_department(
                runtime.services,
                name,
                code,
                region,
                with_seal=not no_seal,
                operator=operator(actor),
                kind=kind,
            )
        )


@department.command("list")
@click.pass_context
def department_list(ctx: click.Context) -> None:
    """List departments with their seal certificates (JSON)."""
    from trustsvc.departments.registry import list_departments

    with opened(settings_of(ctx)) as runtime:
        print_json(list_departments(runtime.services))


@department.command("revoke-seal")
@_code_option
@click.option("--reason", default="unspecified", show_default=True, type=EnumValues(_seal_reasons))
@click.option("--serial", help="Revoke only this certificate (hex serial); default all unrevoked.")
@click.option(
    "--invalid-since",
    metavar="TIME",
    help="With key_compromise: since when the key is unfit (ISO 8601; without an offset, "
    "in the service's time zone). What it signed before stays valid; without this "
    "option everything the key signed is refused.",
)
@operator_actor_option
@click.pass_context
def department_revoke_seal(
    ctx: click.Context,
    code: str,
    reason: str,
    serial: str | None,
    invalid_since: str | None,
    actor: str | None,
) -> None:
    """Revoke a department's seal certificate (shows in CRL and OCSP)."""
    from trustsvc.departments.seals import revoke_seal

    with opened(settings_of(ctx)) as runtime:
        since = None
        if invalid_since is not None:
            since = parse_moment(invalid_since, runtime.settings.zone, "--invalid-since")
        revoked = revoke_seal(
            runtime.services, code, reason, serial, invalid_since=since, operator=operator(actor)
        )
        print_json(revoked)


@department.command("new-seal")
@_code_option
@operator_actor_option
@click.pass_context
def department_new_seal(ctx: click.Context, code: str, actor: str | None) -> None:
    """Issue a new seal certificate for a department."""
    from trustsvc.departments.seals import new_seal

    with opened(settings_of(ctx)) as runtime:
        print_json(new_seal(runtime.services, code, operator(actor)))


@department.command("import-seal")
@_code_option
@click.option(
    "--p12",
    "p12_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PKCS#12 file with the seal key, its certificate and chain.",
)
@click.option(
    "--password-env",
    default="TRUSTSVC_P12_PASSWORD",
    show_default=True,
    help="Environment variable holding the PKCS#12 password (prompted for when unset).",
)
@operator_actor_option
@click.pass_context
def department_import_seal(
    ctx: click.Context, code: str, p12_path: Path, password_env: str, actor: str | None
) -> None:
    """Import a seal certificate and key issued by an outside CA."""
    from trustsvc.departments.seals import import_seal

    password = os.environ.get(password_env)
    if password is None and sys.stdin.isatty():
        password = click.prompt("PKCS#12 password", hide_input=True, default="", show_default=False)
    with opened(settings_of(ctx)) as runtime:
        print_json(
            import_seal(
                runtime.services,
                code,
                p12_path.read_bytes(),
                password.encode() if password else None,
                operator(actor),
            )
        )


@department.command("set-kind")
@_code_option
@click.option("--kind", help="Its kind (e.g. natural-resources); omit to clear it.")
@operator_actor_option
@click.pass_context
def department_set_kind(ctx: click.Context, code: str, kind: str | None, actor: str | None) -> None:
    """Set the department's kind, which license types' issuer rules name."""
    from trustsvc.departments.registry import set_kind

    with opened(settings_of(ctx)) as runtime:
        print_json(set_kind(runtime.services, code, kind, operator(actor)))


def _entitlement_command(name: str, help_text: str, *, allowed: bool) -> click.Command:
    @click.command(name, help=help_text)
    @_code_option
    @click.option("--type", "type_key", required=True, help="License type key or code.")
    @click.option("--reason", help="Why, for the operator record.")
    @operator_actor_option
    @click.pass_context
    def command(
        ctx: click.Context, code: str, type_key: str, reason: str | None, actor: str | None
    ) -> None:
        from trustsvc.licenses.entitlement import set_entitlement

        with opened(settings_of(ctx)) as runtime:
            print_json(
                set_entitlement(
                    runtime.services,
                    code,
                    type_key,
                    allowed=allowed,
                    reason=reason,
                    operator=operator(actor),
                )
            )

    return command


department.add_command(
    _entitlement_command(
        "allow-type",
        "Entitle a department to a license type from now on, over the type's own rule.",
        allowed=True,
    )
)
department.add_command(
    _entitlement_command(
        "deny-type",
        "Refuse a department a license type from now on (what it sealed before stays valid).",
        allowed=False,
    )
)
