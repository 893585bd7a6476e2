"""``report-seal``: the seal of printed verification reports (核验报告专用章)."""

from __future__ import annotations

import click

from trustsvc.cli.options import EnumValues, operator, revocation_reasons
from trustsvc.cli.output import print_json
from trustsvc.cli.runtime import opened, settings_of


def _report_seal_reasons() -> list[str]:
    from cryptography import x509

    # The service's own seal belongs to no affiliation, and is not a CA.
    return revocation_reasons(x509.ReasonFlags.ca_compromise, x509.ReasonFlags.affiliation_changed)


@click.group("report-seal")
def report_seal_group() -> None:
    """The service's verification-report seal (核验报告专用章), which seals printed reports."""


@report_seal_group.command("show")
@click.pass_context
def report_seal_show(ctx: click.Context) -> None:
    """Every report seal certificate, oldest first (one is made at init or first use)."""
    from trustsvc.verification.report_seal import report_seals

    with opened(settings_of(ctx)) as runtime:
        print_json(report_seals(runtime.services))


@report_seal_group.command("revoke")
@click.option(
    "--reason", default="unspecified", show_default=True, type=EnumValues(_report_seal_reasons)
)
@click.option("--actor", help="Who is acting, for the operator record (default: the OS user).")
@click.pass_context
def report_seal_revoke(ctx: click.Context, reason: str, actor: str | None) -> None:
    """Revoke the report seal (CRL and OCSP); the next report is sealed with a new one."""
    from trustsvc.verification.report_seal import revoke_report_seal

    with opened(settings_of(ctx)) as runtime:
        print_json(revoke_report_seal(runtime.services, reason, operator=operator(actor)))
