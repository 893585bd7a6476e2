"""``store``: the document store where sealed PDFs are kept, and its clean-up."""

from __future__ import annotations

from datetime import timedelta

import click

from trustsvc.cli.runtime import opened, settings_of


@click.group("store")
def store() -> None:
    """The document store: where sealed PDFs are kept."""


@store.command("sweep")
@click.option(
    "--grace-minutes",
    type=click.IntRange(5, 30 * 24 * 60),
    help="Leave documents younger than this (default: $TRUSTSVC_STORE_SWEEP_GRACE_MINUTES, 60).",
)
@click.pass_context
def store_sweep(ctx: click.Context, grace_minutes: int | None) -> None:
    """Remove stored documents no license was recorded for, and dead temporary files.

    Also voids (作废) license numbers reserved longer ago than the grace period
    by an issuance that never recorded its license (a crash).
    """
    from trustsvc.licenses.numbers import void_abandoned
    from trustsvc.licenses.sweep import sweep_documents

    with opened(settings_of(ctx)) as runtime:
        services = runtime.services
        grace = timedelta(minutes=grace_minutes or services.settings.store_sweep_grace_minutes)
        report = sweep_documents(runtime.store, services.database, services.clock, grace)
        voided = void_abandoned(services.database, services.clock, grace)
    click.echo(
        f"removed {report.documents_removed} unrecorded document(s) older than "
        f"{int(grace.total_seconds() // 60)} min, {report.temporaries_removed} temporary file(s)"
    )
    click.echo(f"voided {voided} abandoned license number reservation(s)")
