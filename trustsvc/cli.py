"""The ``trustsvc`` command line: set up a home, run the service, manage departments.

Every failure is one line on stderr, ``trustsvc: error: ...``, and an exit
code: 1 failure, 2 usage, 65 invalid input or conflict, 66 not found,
78 configuration (home, database, keys, passphrase).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError

from trustsvc.config import KeyAlgorithm, Settings, load_settings
from trustsvc.errors import (
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    KeyStoreError,
    NotFoundError,
    TrustServiceError,
)

EXIT_FAILURE = 1
EXIT_INVALID_INPUT = 65
EXIT_NOT_FOUND = 66
EXIT_CONFIGURATION = 78


def _exit_code(error: TrustServiceError) -> int:
    if isinstance(error, InvalidInputError | ConflictError):
        return EXIT_INVALID_INPUT
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, ConfigurationError | KeyStoreError):
        return EXIT_CONFIGURATION
    return EXIT_FAILURE


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"trustsvc: error: {message}", err=True)
    sys.exit(code)


class _Cli(click.Group):
    """Turns the service's errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrustServiceError as exc:
            _fail(exc.message, _exit_code(exc))
        except ValidationError as exc:
            problems = "; ".join(
                f"TRUSTSVC_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
                for e in exc.errors()
            )
            _fail(f"invalid settings: {problems}", EXIT_CONFIGURATION)


def _settings(ctx: click.Context) -> Settings:
    overrides: dict[str, Any] = ctx.find_root().obj or {}
    return load_settings(**overrides)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _print_json(value: Any) -> None:
    click.echo(json.dumps(_jsonable(value), ensure_ascii=False, indent=2))


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
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


@cli.command()
@click.option(
    "--algorithm",
    type=click.Choice([a.value for a in KeyAlgorithm]),
    help="Key algorithm of the PKI (default: $TRUSTSVC_KEY_ALGORITHM or ec-p256).",
)
@click.pass_context
def init(ctx: click.Context, algorithm: str | None) -> None:
    """Create the home: root CA, issuing CA, TSA and OCSP certificates, database."""
    from trustsvc.services import initialise_home

    if algorithm:
        ctx.find_root().obj["key_algorithm"] = algorithm
    settings = _settings(ctx)
    pki = initialise_home(settings)
    click.echo(f"initialised {settings.home} ({settings.key_algorithm.value})")
    click.echo(f"root CA: {pki.root.subject.rfc4514_string()}")
    click.echo(f"root fingerprint (SHA-256): {pki.root.fingerprint(_sha256()).hex()}")


def _sha256() -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int) -> None:
    """Run the HTTP service (initialises a fresh home with development defaults)."""
    import uvicorn

    from trustsvc.services import initialise_home, is_initialised, open_services

    settings = _settings(ctx)
    if not is_initialised(settings):
        click.echo(
            f"trustsvc: {settings.home} has no PKI yet; initialising it with development defaults",
            err=True,
        )
        initialise_home(settings)
    for problem in settings.development_defaults_in_use():
        click.echo(f"trustsvc: development default in use: {problem}", err=True)
    # Fail here, with one line, rather than inside the server's start-up.
    open_services(settings).close()
    click.echo(f"trustsvc: serving on http://{host}:{port} (public URL {settings.public_base_url})")
    if workers == 1:
        from trustsvc.api.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
        return
    # Worker processes build their own app from the environment.
    for name, value in (ctx.find_root().obj or {}).items():
        os.environ[f"TRUSTSVC_{name.upper()}"] = str(value)
    uvicorn.run(
        "trustsvc.api.app:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@cli.group()
def department() -> None:
    """Issuing departments (颁发机构) and their seal certificates."""


def _open(ctx: click.Context) -> Any:
    from trustsvc.services import open_services

    return open_services(_settings(ctx))


@department.command("add")
@click.option("--name", required=True, help="Department name, e.g. 某某市市场监督管理局.")
@click.option("--code", required=True, help="Unified social credit code (18 characters, GB 32100).")
@click.option("--region", help="Administrative division code (6 digits, GB/T 2260).")
@click.option("--no-seal", is_flag=True, help="Register only; the seal comes later (import-seal).")
@click.pass_context
def department_add(
    ctx: click.Context, name: str, code: str, region: str | None, no_seal: bool
) -> None:
    """Register a department and issue its seal certificate."""
    from trustsvc.departments import add_department

    services = _open(ctx)
    try:
        _print_json(add_department(services, name, code, region, with_seal=not no_seal))
    finally:
        services.close()


@department.command("list")
@click.pass_context
def department_list(ctx: click.Context) -> None:
    """List departments with their seal certificates (JSON)."""
    from trustsvc.departments import list_departments

    services = _open(ctx)
    try:
        _print_json(list_departments(services))
    finally:
        services.close()


@department.command("revoke-seal")
@click.option("--code", required=True, help="The department's credit code.")
@click.option(
    "--reason",
    default="unspecified",
    show_default=True,
    type=click.Choice(
        [
            "unspecified",
            "key_compromise",
            "affiliation_changed",
            "superseded",
            "cessation_of_operation",
        ]
    ),
)
@click.option("--serial", help="Revoke only this certificate (hex serial); default all unrevoked.")
@click.pass_context
def department_revoke_seal(ctx: click.Context, code: str, reason: str, serial: str | None) -> None:
    """Revoke a department's seal certificate (shows in CRL and OCSP)."""
    from trustsvc.departments import revoke_seal

    services = _open(ctx)
    try:
        _print_json(revoke_seal(services, code, reason, serial))
    finally:
        services.close()


@department.command("new-seal")
@click.option("--code", required=True, help="The department's credit code.")
@click.pass_context
def department_new_seal(ctx: click.Context, code: str) -> None:
    """Issue a new seal certificate for a department."""
    from trustsvc.departments import new_seal

    services = _open(ctx)
    try:
        _print_json(new_seal(services, code))
    finally:
        services.close()


@department.command("import-seal")
@click.option("--code", required=True, help="The department's credit code.")
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
@click.pass_context
def department_import_seal(
    ctx: click.Context, code: str, p12_path: Path, password_env: str
) -> None:
    """Import a seal certificate and key issued by an outside CA."""
    from trustsvc.departments import import_seal

    password = os.environ.get(password_env)
    if password is None and sys.stdin.isatty():
        password = click.prompt("PKCS#12 password", hide_input=True, default="", show_default=False)
    services = _open(ctx)
    try:
        _print_json(
            import_seal(
                services, code, p12_path.read_bytes(), password.encode() if password else None
            )
        )
    finally:
        services.close()


def main() -> None:
    cli(prog_name="trustsvc")
