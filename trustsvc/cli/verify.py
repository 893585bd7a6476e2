"""``verify`` and ``verify-token``: one verdict for a sealed PDF or a QR token.

Both exit 0 for an online ``valid``, 3 for an offline ``valid_offline`` and 1
otherwise; ``--report`` also writes the verdict as a sealed one-page PDF.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from trustsvc.cli.exits import EXIT_FAILURE, EXIT_INVALID_INPUT, EXIT_VALID_OFFLINE, fail
from trustsvc.cli.output import print_json, to_json
from trustsvc.cli.runtime import Runtime, offline_verifier, opened, settings_of

if TYPE_CHECKING:
    from trustsvc.pki.bundle import TrustBundle
    from trustsvc.verification.report import VerificationReport
    from trustsvc.verification.trust import TrustMaterial
    from trustsvc.verification.verifier import Verifier


@click.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.option(
    "--offline",
    is_flag=True,
    help="Use only the document and the home's PKI files: no database, no fetching "
    f"(verdict valid_offline, exit {EXIT_VALID_OFFLINE}, at best).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a one-page verification report (PDF) for the file.",
)
@click.option(
    "--trust-bundle",
    "bundle_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --offline: a trust bundle (/pki/trust-bundle) whose report seals count "
    "(a 加注件's note); its signature is checked against the home's root.",
)
@click.pass_context
def verify(
    ctx: click.Context,
    file: Path,
    as_json: bool,
    offline: bool,
    report_path: Path | None,
    bundle_path: Path | None,
) -> None:
    """Verify a sealed PDF: one verdict, its reasons and the facts (exit 0 only if valid)."""
    _refuse_offline_report(offline, report_path)
    _refuse_online_bundle(offline, bundle_path)
    if offline:
        # The home's certificate files and the document: no key, no database.
        settings = settings_of(ctx)
        verifier = offline_verifier(settings)
        if bundle_path is not None:
            bundle = _trust_bundle(verifier.trust, bundle_path)
            verifier = offline_verifier(settings, report_seals=bundle.report_seals)
        report = _verify_file(verifier, file)
    else:
        with opened(settings_of(ctx)) as runtime:
            report = _verify_file(runtime.verifier(allow_fetching=True), file)
            if report_path is not None:
                _write_printout(runtime, report, report_path)
    _print_report(report, as_json)


def _verify_file(verifier: Verifier, file: Path) -> VerificationReport:
    data = file.read_bytes()
    if len(data) > verifier.max_bytes:
        data = data[: verifier.max_bytes + 1]  # enough to be refused as too large
    return verifier.verify_pdf(data)


@click.command("verify-token")
@click.argument("token")
@click.option(
    "--offline",
    is_flag=True,
    help="Signature, issuer and the token's dates only; no database is read "
    f"(verdict valid_offline, exit {EXIT_VALID_OFFLINE}, at best).",
)
@click.option(
    "--checked-by",
    default="cli",
    show_default=True,
    help="Who checks (recorded). The name of a verifier client checks as that client "
    "(its purposes, and codes naming it); any other name is the operator, who states "
    "no purpose.",
)
@click.option("--purpose", help="Why (用证事由), one of the checking client's purposes.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a one-page verification report (PDF).",
)
@click.option(
    "--trust-bundle",
    "bundle_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --offline: a trust bundle (/pki/trust-bundle) whose seal statuses count; "
    "its signature is checked against the home's root.",
)
@click.pass_context
def verify_token(
    ctx: click.Context,
    token: str,
    offline: bool,
    checked_by: str,
    purpose: str | None,
    as_json: bool,
    report_path: Path | None,
    bundle_path: Path | None,
) -> None:
    """Verify a QR token, or the whole scanned link (exit 0 only if valid)."""
    from trustsvc.holders.presentation import checker_named
    from trustsvc.verification.recording import record_token_check

    _refuse_offline_report(offline, report_path)
    _refuse_online_bundle(offline, bundle_path)
    token = token.strip().rsplit("/v/", 1)[-1]
    if offline:
        # Nothing is recorded and no database is read: nobody to check as.
        verifier = offline_verifier(settings_of(ctx))
        bundle = _trust_bundle(verifier.trust, bundle_path) if bundle_path is not None else None
        report = verifier.verify_token(token, offline=True, checked_by=checked_by)
        if bundle is not None:
            report = _with_bundle(report, token, bundle)
    else:
        with opened(settings_of(ctx)) as runtime:
            checker = checker_named(runtime.services, checked_by, purpose)
            verifier = runtime.verifier(allow_fetching=False)
            # The verifier decides; the check (and a single-use code's use) is recorded here.
            check = verifier.check_token(token, checked_by=checker, purpose=purpose)
            report = record_token_check(verifier.library, check)
            if report_path is not None:
                _write_printout(runtime, report, report_path)
    _print_report(report, as_json)


def _refuse_offline_report(offline: bool, report_path: Path | None) -> None:
    # The report is sealed with the service's report seal, whose record is in the
    # database that an offline check never opens: refuse before any work.
    if offline and report_path is not None:
        fail(
            "--report seals the report with the service's seal, which needs its database: "
            "leave out --offline or --report",
            EXIT_INVALID_INPUT,
        )


def _refuse_online_bundle(offline: bool, bundle_path: Path | None) -> None:
    if bundle_path is not None and not offline:
        fail(
            "--trust-bundle is for --offline checks (online, the library knows more)",
            EXIT_INVALID_INPUT,
        )


def _write_printout(runtime: Runtime, report: VerificationReport, path: Path) -> None:
    """The report as a PDF sealed with the service's verification-report seal."""
    from trustsvc.verification.report_seal import ReportSealer

    path.write_bytes(ReportSealer(runtime.services).seal(report))


def _print_report(report: VerificationReport, as_json: bool) -> None:
    from trustsvc.verification.report import VERDICT_TEXT

    if as_json:
        print_json(report)
    else:
        zh, en = VERDICT_TEXT[report.verdict]
        scope = "联网核验 online" if report.scope == "online" else "离线核验 offline"
        click.echo(f"{report.verdict.value}  {zh} / {en}  [{scope}]")
        for reason in report.reasons:
            click.echo(f"  - {reason.code}: {reason.message_zh} {reason.message_en}")
        for name, value in dataclasses.asdict(report.facts).items():
            if value is not None:
                click.echo(f"  {name}: {to_json(value)}")
    if report.is_valid_offline:
        sys.exit(EXIT_VALID_OFFLINE)
    if not report.is_valid:
        sys.exit(EXIT_FAILURE)


def _trust_bundle(trust: TrustMaterial, path: Path) -> TrustBundle:
    """The bundle in ``path``, its signature checked against the home's root, or one error line."""
    from trustsvc.pki.bundle import MAX_BUNDLE_BYTES, read_bundle

    try:
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            fail(f"{path} is larger than a trust bundle can be", EXIT_INVALID_INPUT)
        data = path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", EXIT_INVALID_INPUT)
    bundle = read_bundle(data, trust.root, trust.clock.now())
    click.echo(f"trust bundle version {bundle.version} of {bundle.issued_at.isoformat()}", err=True)
    return bundle


def _with_bundle(report: VerificationReport, token: str, bundle: TrustBundle) -> VerificationReport:
    """The offline report, with the token's seal status as the bundle states it."""
    from datetime import UTC, datetime

    from trustsvc.tokens.decoding import parse_token
    from trustsvc.tokens.format import InvalidTokenError
    from trustsvc.verification import reasons as R
    from trustsvc.verification.report import conclude

    try:
        parsed = parse_token(token.strip())
    except InvalidTokenError:
        return report
    seal = bundle.seal(parsed.kid)
    signed_at = parsed.claims.signed_at
    moment = datetime.fromtimestamp(signed_at, UTC) if signed_at is not None else None
    if seal is None or not seal.refuses(moment) or R.TOKEN_SEAL_REVOKED in report.reasons:
        return report
    checked_at = report.checked_at
    assert checked_at is not None  # the verifier dates every report it makes
    # Still an offline answer: the bundle says the seal is revoked, the library was not read.
    return conclude(
        [*report.reasons, R.TOKEN_SEAL_REVOKED], report.facts, checked_at, scope=report.scope
    )
