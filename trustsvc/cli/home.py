"""``init`` and ``trust-bundle-signer``: making a home, and completing an older one."""

from __future__ import annotations

import click

from trustsvc.cli.runtime import initialise, opened_database, overrides, settings_of
from trustsvc.settings import KeyAlgorithm


@click.command("init")
@click.option(
    "--algorithm",
    type=click.Choice([a.value for a in KeyAlgorithm]),
    help="Key algorithm of the PKI (default: $TRUSTSVC_KEY_ALGORITHM or ec-p256).",
)
@click.pass_context
def init(ctx: click.Context, algorithm: str | None) -> None:
    """Create the home: root CA, issuing CA, TSA and OCSP certificates, database."""
    from cryptography.hazmat.primitives import hashes

    if algorithm:
        overrides(ctx)["key_algorithm"] = algorithm
    settings = settings_of(ctx)
    pki = initialise(settings)
    click.echo(f"initialised {settings.home} ({settings.key_algorithm.value})")
    click.echo(f"root CA: {pki.root.subject.rfc4514_string()}")
    click.echo(f"root fingerprint (SHA-256): {pki.root.fingerprint(hashes.SHA256()).hex()}")


@click.command("trust-bundle-signer")
@click.pass_context
def trust_bundle_signer(ctx: click.Context) -> None:
    """Give a home made before the trust bundle its signer (new homes have one)."""
    from trustsvc.clock import SystemClock
    from trustsvc.pki.home import add_trust_list_signer

    settings = settings_of(ctx)
    with opened_database(settings) as database:
        pki = add_trust_list_signer(settings, database, SystemClock())
    signer = pki.trust_list
    assert signer is not None
    click.echo(f"trust bundle signer: {signer.subject.rfc4514_string()}")
