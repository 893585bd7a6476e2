"""The ``trustsvc`` command line: the root group, assembled from one module per command group.

Holds ``cli`` (the root: ``--home``, ``--version``) and ``main``, the console
script. Each command group is a module here: ``home`` (init, trust-bundle-signer),
``serve``, ``client``, ``department``, ``purpose``, ``trust`` (and operator-record),
``license_types`` (types), ``issue`` (issue, issue-batch), ``license``, ``verify``
(verify, verify-token), ``report_seal`` and ``store``. They share ``runtime`` (the
one place a command opens and closes the service, and builds the license service
and the verifier), ``options``, ``output`` and ``exits`` (exit codes and the
one-line failure every error becomes).

May import anything in trustsvc: the command line sits on top, beside ``api``.
Nothing in trustsvc imports it. Commands import the domain inside their bodies,
so that ``trustsvc --help`` and a usage error do not wait a second or two for
the database layer, pyHanko and FastAPI to load.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from trustsvc.cli import (
    client,
    department,
    home,
    issue,
    license,
    license_types,
    purpose,
    report_seal,
    serve,
    store,
    trust,
    user,
    verify,
)
from trustsvc.cli.exits import EXIT_VALID_OFFLINE, CommandLine


@click.group(cls=CommandLine, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(path_type=Path, file_okay=False),
    help="Data directory (default: $TRUSTSVC_HOME or ./var).",
)
@click.version_option(package_name="trustsvc")
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """trustsvc: electronic-license and e-seal trust service (电子证照信任服务)."""
    ctx.obj = {"home": home} if home else {}


for _command in (
    home.init,
    home.trust_bundle_signer,
    serve.serve,
    client.client,
    department.department,
    purpose.purpose,
    trust.trust,
    trust.operator_record,
    license_types.types,
    issue.issue,
    issue.issue_batch,
    license.license_group,
    verify.verify,
    verify.verify_token,
    report_seal.report_seal_group,
    store.store,
    user.user,
):
    cli.add_command(_command)


def main() -> None:
    """The ``trustsvc`` console script."""
    # pyHanko logs every validation failure with a traceback; the verdict
    # already carries the reasons, so on a terminal they are noise.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    cli(prog_name="trustsvc")


__all__ = ["EXIT_VALID_OFFLINE", "cli", "main"]
