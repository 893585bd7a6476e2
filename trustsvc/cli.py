"""The ``trustsvc`` command line: set up a home, run the service, manage departments.

Every failure is one line on stderr, ``trustsvc: error: ...``, and an exit
code: 1 failure, 2 usage, 65 invalid input or conflict, 66 not found,
78 configuration (home, database, keys, passphrase).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError

from trustsvc.errors import (
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    KeyStoreError,
    NotFoundError,
    TrustServiceError,
)
from trustsvc.settings import KeyAlgorithm, Settings, load_settings

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


def _settings(ctx: click.Context, *, from_home: bool = True) -> Settings:
    overrides: dict[str, Any] = ctx.find_root().obj or {}
    settings = load_settings(**overrides)
    if not from_home:
        return settings
    from trustsvc.pki.home import with_certified_base_url

    return with_certified_base_url(settings)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, date):  # datetimes too
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
    _make_report_seal(settings)
    click.echo(f"initialised {settings.home} ({settings.key_algorithm.value})")
    click.echo(f"root CA: {pki.root.subject.rfc4514_string()}")
    click.echo(f"root fingerprint (SHA-256): {pki.root.fingerprint(_sha256()).hex()}")


def _make_report_seal(settings: Any) -> None:
    """The verification-report seal of a new home (an older home gets it on first use)."""
    from trustsvc.services import open_services
    from trustsvc.verification.report_seal import report_seal

    services = open_services(settings)
    try:
        report_seal(services)
    finally:
        services.close()


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

    from trustsvc.pki.home import public_url_mismatch
    from trustsvc.services import initialise_home, is_initialised, open_services
    from trustsvc.settings import development_base_url

    settings = _settings(ctx, from_home=False)
    # Production needs the public URL set; checked before one is derived below.
    settings.check_production()
    derived = not settings.public_base_url_is_set
    if derived:
        # Every certificate and QR code names this URL: it must be where this
        # server answers, not the default port.
        settings = settings.with_public_base_url(development_base_url(host, port))
        click.echo(
            f"trustsvc: TRUSTSVC_PUBLIC_BASE_URL is not set; the public URL is "
            f"{settings.public_base_url}, from --host and --port",
            err=True,
        )
    if not is_initialised(settings):
        click.echo(
            f"trustsvc: {settings.home} has no PKI yet; initialising it with development defaults",
            err=True,
        )
        initialise_home(settings)
        _make_report_seal(settings)
    for problem in settings.development_defaults_in_use():
        click.echo(f"trustsvc: development default in use: {problem}", err=True)
    mismatch = public_url_mismatch(settings)
    if mismatch is not None:
        click.echo(f"trustsvc: warning: {mismatch}", err=True)
    # Fail here, with one line, rather than inside the server's start-up.
    open_services(settings).close()
    click.echo(f"trustsvc: serving on http://{host}:{port} (public URL {settings.public_base_url})")
    from trustsvc.api.observability import configure_logging
    from trustsvc.api.server import uvicorn_options

    # Our own request log (route templates, no query strings) replaces uvicorn's access
    # log, which would write raw URLs, and with them ID numbers, into the logs.
    configure_logging()
    if workers == 1:
        from trustsvc.api.app import create_app, tune_garbage_collection
        from trustsvc.api.observability import RequestLog

        app = create_app(settings, request_log=RequestLog.to_stderr())
        app.state.api.pdf_verifier.warm_up()
        tune_garbage_collection()
        uvicorn.run(app, host=host, port=port, **uvicorn_options(settings))
        return
    # Worker processes build their own app from the environment.
    for name, value in (ctx.find_root().obj or {}).items():
        os.environ[f"TRUSTSVC_{name.upper()}"] = str(value)
    if derived:
        os.environ["TRUSTSVC_PUBLIC_BASE_URL"] = settings.public_base_url
    uvicorn.run(
        "trustsvc.api.app:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **uvicorn_options(settings),
    )


@cli.group()
def client() -> None:
    """API clients (issuer, verifier, admin) and their keys."""


_actor_option = click.option(
    "--actor",
    help="Who is acting, for the operator record (default: the operating-system user).",
)


def _operator(actor: str | None) -> Any:
    from trustsvc.audit.operators import Operator

    return Operator.local(actor)


def _print_key(info: Any, key: Any) -> None:
    click.echo(f"client {info.client.name} ({info.client.role.value}); its API key, shown once:")
    click.echo(key.secret)


@client.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["issuer", "verifier", "admin"]),
    help="What it may do.",
)
@click.option("--department", "department_code", help="Issuer: the department it acts for.")
@click.option(
    "--purpose",
    "purposes",
    multiple=True,
    help="Verifier: a purpose (用证事由) it may state; repeat for several.",
)
@click.option("--rate-limit", type=click.IntRange(1, 1_000_000), help="Requests a minute.")
@_actor_option
@click.pass_context
def client_add(
    ctx: click.Context,
    name: str,
    role: str,
    department_code: str | None,
    purposes: tuple[str, ...],
    rate_limit: int | None,
    actor: str | None,
) -> None:
    """Make an API client and print its key (once: it is stored only hashed)."""
    from trustsvc.sharing.clients import add_client

    services = _open(ctx)
    try:
        info, key = add_client(
            services,
            name,
            role,
            department_code=department_code,
            purposes=purposes,
            rate_limit_per_minute=rate_limit,
            operator=_operator(actor),
        )
        _print_key(info, key)
    finally:
        services.close()


@client.command("list")
@click.pass_context
def client_list(ctx: click.Context) -> None:
    """List API clients and their active key ids (JSON; no secrets)."""
    from trustsvc.sharing.clients import list_clients

    services = _open(ctx)
    try:
        _print_json(list_clients(services))
    finally:
        services.close()


@client.command("revoke")
@click.argument("name")
@_actor_option
@click.pass_context
def client_revoke(ctx: click.Context, name: str, actor: str | None) -> None:
    """Revoke a client: every key of it is refused (within seconds on running nodes)."""
    from trustsvc.sharing.clients import revoke_client

    services = _open(ctx)
    try:
        _print_json(revoke_client(services, name, _operator(actor)))
    finally:
        services.close()


@client.command("rotate")
@click.argument("name")
@click.option(
    "--grace-hours",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 720),
    help="How long the old keys keep working.",
)
@_actor_option
@click.pass_context
def client_rotate(ctx: click.Context, name: str, grace_hours: float, actor: str | None) -> None:
    """Give a client a new key; print it once."""
    from datetime import timedelta

    from trustsvc.sharing.clients import get_client, rotate_key

    services = _open(ctx)
    try:
        key = rotate_key(services, name, timedelta(hours=grace_hours), _operator(actor))
        _print_key(get_client(services, name), key)
    finally:
        services.close()


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
@click.option(
    "--kind",
    help="Department kind, e.g. market-regulation (市场监督管理); default: what the name states.",
)
@_actor_option
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

    services = _open(ctx)
    try:
        _print_json(
            add_department(
                services,
                name,
                code,
                region,
                with_seal=not no_seal,
                operator=_operator(actor),
                kind=kind,
            )
        )
    finally:
        services.close()


@department.command("list")
@click.pass_context
def department_list(ctx: click.Context) -> None:
    """List departments with their seal certificates (JSON)."""
    from trustsvc.departments.registry import list_departments

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
@click.option(
    "--invalid-since",
    metavar="TIME",
    help="With key_compromise: since when the key is unfit (ISO 8601; without an offset, "
    "in the service's time zone). What it signed before stays valid; without this "
    "option everything the key signed is refused.",
)
@_actor_option
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
    from trustsvc.departments.registry import revoke_seal

    services = _open(ctx)
    try:
        since = None
        if invalid_since is not None:
            since = _moment(invalid_since, services.settings.zone, "--invalid-since")
        revoked = revoke_seal(
            services, code, reason, serial, invalid_since=since, operator=_operator(actor)
        )
        _print_json(revoked)
    finally:
        services.close()


def _moment(text: str, zone: tzinfo, option: str) -> datetime:
    """An ISO 8601 time from the command line; a time without an offset is in ``zone``."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(f"{option}: {text!r} is not an ISO 8601 time") from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


@department.command("new-seal")
@click.option("--code", required=True, help="The department's credit code.")
@_actor_option
@click.pass_context
def department_new_seal(ctx: click.Context, code: str, actor: str | None) -> None:
    """Issue a new seal certificate for a department."""
    from trustsvc.departments.registry import new_seal

    services = _open(ctx)
    try:
        _print_json(new_seal(services, code, _operator(actor)))
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
@_actor_option
@click.pass_context
def department_import_seal(
    ctx: click.Context, code: str, p12_path: Path, password_env: str, actor: str | None
) -> None:
    """Import a seal certificate and key issued by an outside CA."""
    from trustsvc.departments.registry import import_seal

    password = os.environ.get(password_env)
    if password is None and sys.stdin.isatty():
        password = click.prompt("PKCS#12 password", hide_input=True, default="", show_default=False)
    services = _open(ctx)
    try:
        _print_json(
            import_seal(
                services,
                code,
                p12_path.read_bytes(),
                password.encode() if password else None,
                _operator(actor),
            )
        )
    finally:
        services.close()


@department.command("set-kind")
@click.option("--code", required=True, help="The department's credit code.")
@click.option("--kind", help="Its kind (e.g. natural-resources); omit to clear it.")
@_actor_option
@click.pass_context
def department_set_kind(ctx: click.Context, code: str, kind: str | None, actor: str | None) -> None:
    """Set the department's kind, which license types' issuer rules name."""
    from trustsvc.departments.registry import set_kind

    services = _open(ctx)
    try:
        _print_json(set_kind(services, code, kind, _operator(actor)))
    finally:
        services.close()


def _entitlement_command(allowed: bool) -> Any:
    @click.option("--code", required=True, help="The department's credit code.")
    @click.option("--type", "type_key", required=True, help="License type key or code.")
    @click.option("--reason", help="Why, for the operator record.")
    @_actor_option
    @click.pass_context
    def command(
        ctx: click.Context, code: str, type_key: str, reason: str | None, actor: str | None
    ) -> None:
        from trustsvc.licenses.entitlement import set_entitlement

        services = _open(ctx)
        try:
            _print_json(
                set_entitlement(
                    services,
                    code,
                    type_key,
                    allowed=allowed,
                    reason=reason,
                    operator=_operator(actor),
                )
            )
        finally:
            services.close()

    return command


department.command(
    "allow-type",
    help="Entitle a department to a license type from now on, over the type's own rule.",
)(_entitlement_command(True))
department.command(
    "deny-type",
    help="Refuse a department a license type from now on (what it sealed before stays valid).",
)(_entitlement_command(False))


@cli.group()
def purpose() -> None:
    """The purpose catalogue (用证事由): which license types a lookup under each may see."""


@purpose.command("add")
@click.argument("name")
@click.option(
    "--type", "type_keys", multiple=True, required=True, help="A type it may see; repeat."
)
@_actor_option
@click.pass_context
def purpose_add(
    ctx: click.Context, name: str, type_keys: tuple[str, ...], actor: str | None
) -> None:
    """Add a purpose and the license types it may see."""
    from trustsvc.sharing.purposes import add_purpose

    services = _open(ctx)
    try:
        _print_json(add_purpose(services, name, type_keys, _operator(actor)))
    finally:
        services.close()


@purpose.command("list")
@click.pass_context
def purpose_list(ctx: click.Context) -> None:
    """List the catalogue (JSON); ``migrated`` entries came from old clients: review them."""
    from trustsvc.sharing.purposes import list_purposes

    services = _open(ctx)
    try:
        _print_json(list_purposes(services))
    finally:
        services.close()


@purpose.command("remove")
@click.argument("name")
@_actor_option
@click.pass_context
def purpose_remove(ctx: click.Context, name: str, actor: str | None) -> None:
    """Remove a purpose that no active client may state."""
    from trustsvc.sharing.purposes import remove_purpose

    services = _open(ctx)
    try:
        _print_json(remove_purpose(services, name, _operator(actor)))
    finally:
        services.close()


# ---- licenses -------------------------------------------------------------------


def _license_service(ctx: click.Context) -> Any:
    from trustsvc.licenses.service import LicenseService

    return LicenseService(_open(ctx))


def _read_data_file(path: Path) -> dict[str, object]:
    from trustsvc.licenses.batch import MAX_LINE_BYTES, check_row
    from trustsvc.strictjson import parse_json

    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_LINE_BYTES + 1)
    except OSError as exc:
        raise InvalidInputError(f"{path} cannot be read: {exc.strerror}") from exc
    if len(raw) > MAX_LINE_BYTES:
        raise InvalidInputError(f"{path} is larger than {MAX_LINE_BYTES} bytes")
    try:
        data = parse_json(raw)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path} is not a readable JSON file: {exc.message}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path} must hold one JSON object of field values")
    try:
        check_row(data)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}: {exc.message}") from None
    return data


@cli.command()
@click.option(
    "--department", "department_code", required=True, help="Issuing department's credit code."
)
@click.option(
    "--type", "type_key", required=True, help="License type key (see `trustsvc types list`)."
)
@click.option(
    "--data",
    "data_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file with the license's field values (see `trustsvc types example TYPE`).",
)
@click.option("--idempotency-key", help="Retries with the same key return the same license.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the sealed PDF here.",
)
@click.pass_context
def issue(
    ctx: click.Context,
    department_code: str,
    type_key: str,
    data_path: Path,
    idempotency_key: str | None,
    out_path: Path | None,
) -> None:
    """Issue one e-license: render, seal (PAdES), store, record. Prints a JSON summary."""
    from trustsvc.licenses.service import IssueRequest

    data = _read_data_file(data_path)
    licenses = _license_service(ctx)
    try:
        result = licenses.issue(
            IssueRequest(department_code, type_key, data, idempotency_key=idempotency_key)
        )
        if out_path is not None:
            out_path.write_bytes(licenses.document(result.license.identifier))
    finally:
        licenses.services.close()
    view = result.license
    _print_json(
        {
            "identifier": view.identifier,
            "license_number": view.license_number,
            "sha256": view.sha256,
            "status": view.status,
            "created": result.created,
            "path": str(out_path) if out_path else None,
        }
    )


@cli.group()
def types() -> None:
    """License types (证照类型)."""


@types.command("list")
def types_list() -> None:
    """List the license types this service can issue."""
    from trustsvc.licenses.types import load_types

    for kind in load_types().values():
        click.echo(f"{kind.key:<36} {kind.code}  {kind.name_zh} / {kind.name_en}")


@types.command("example")
@click.argument("type_key")
def types_example(type_key: str) -> None:
    """Print a complete, valid example data file for TYPE_KEY."""
    from trustsvc.licenses.types import example_data, get_type, load_types

    _print_json(example_data(get_type(load_types(), type_key)))


@cli.group("license")
def license_group() -> None:
    """Licenses in the library: show, list, and lifecycle changes."""


_number_department_option = click.option(
    "--department",
    "department_code",
    help="Look a printed number up among this department's licenses only.",
)


def _local(moment: datetime, zone: Any) -> str:
    """A moment as people read it: the service's time zone, to the second."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


@license_group.command("show")
@click.argument("identifier")
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
    licenses = _license_service(ctx)
    try:
        view = licenses.show(identifier, department_code)
        shown = _jsonable(view)
        shown["issued_at_local"] = _local(view.issued_at, licenses.services.settings.zone)
        _print_json(shown)
        if out_path is not None:
            out_path.write_bytes(licenses.document(view.identifier))
    finally:
        licenses.services.close()


@license_group.command("history")
@click.argument("identifier")
@_number_department_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable (times in UTC).")
@click.pass_context
def license_history(
    ctx: click.Context, identifier: str, department_code: str | None, as_json: bool
) -> None:
    """Every lifecycle event of a license (all versions): who, when, why, from and to status."""
    licenses = _license_service(ctx)
    try:
        history = licenses.history(identifier, department_code)
        zone = licenses.services.settings.zone
    finally:
        licenses.services.close()
    if as_json:
        _print_json(history)
        return
    click.echo(f"{history.license_number}  {history.identifier}")
    for event in history.events:
        change = f"{event.from_status or '-'} -> {event.to_status}"
        why = f"  reason: {event.reason}" if event.reason else ""
        click.echo(
            f"{_local(event.at, zone)}  v{event.version}  {event.action:<8} {change:<24}"
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

    licenses = _license_service(ctx)
    try:
        license_type = get_type(licenses.types, type_key)
        with licenses.services.database.begin() as session:
            ledger = account(
                session,
                department_code.strip().upper(),
                license_type.key,
                license_type.number_scope_year(year),
                year,
            )
        zone = licenses.services.settings.zone
    finally:
        licenses.services.close()
    if as_json:
        _print_json(ledger)
        return
    for entry in ledger.entries:
        what = entry.identifier if entry.state == "issued" else entry.void_reason or ""
        click.echo(f"{entry.number}  {entry.state:<8}  {_local(entry.reserved_at, zone)}  {what}")
    click.echo(
        f"first={ledger.first or '-'} last={ledger.last or '-'} issued={ledger.issued} "
        f"void={ledger.void} reserved={ledger.reserved} missing={len(ledger.missing)}"
    )


@license_group.command("list")
@click.option("--department", "department_code", help="Only this issuer's licenses.")
@click.option("--type", "type_key", help="Only this license type.")
@click.option("--status", type=click.Choice(["valid", "suspended", "revoked", "superseded"]))
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

    licenses = _license_service(ctx)
    try:
        query = LicenseQuery(
            department_code=department_code,
            type_key=type_key,
            status=LicenseStatus(status) if status else None,
            limit=limit,
            offset=offset,
        )
        _print_json(licenses.search(query, holder_id, holder_id_type))
    finally:
        licenses.services.close()


def _transition(
    ctx: click.Context, identifier: str, action: str, reason: str | None, actor: str
) -> None:
    from trustsvc.licenses.library import Action

    licenses = _license_service(ctx)
    try:
        _print_json(licenses.transition(identifier, Action(action), actor, reason))
    finally:
        licenses.services.close()


_actor_option = click.option(
    "--actor", default="operator", show_default=True, help="Who acts (recorded)."
)


@license_group.command("suspend")
@click.argument("identifier")
@click.option("--reason", required=True, help="Why (recorded).")
@_actor_option
@click.pass_context
def license_suspend(ctx: click.Context, identifier: str, reason: str, actor: str) -> None:
    """Suspend a license (暂停)."""
    _transition(ctx, identifier, "suspend", reason, actor)


@license_group.command("resume")
@click.argument("identifier")
@click.option("--reason", help="Why (recorded).")
@_actor_option
@click.pass_context
def license_resume(ctx: click.Context, identifier: str, reason: str | None, actor: str) -> None:
    """Resume a suspended license (恢复)."""
    _transition(ctx, identifier, "resume", reason, actor)


@license_group.command("revoke")
@click.argument("identifier")
@click.option(
    "--kind",
    type=click.Choice(["cancelled", "withdrawn"]),
    required=True,
    help="cancelled: 注销 (on request, no longer needed); withdrawn: 吊销 (a sanction).",
)
@click.option("--reason", required=True, help="The grounds (recorded, shown to verifiers).")
@_actor_option
@click.pass_context
def license_revoke(ctx: click.Context, identifier: str, kind: str, reason: str, actor: str) -> None:
    """Revoke a license: 注销 (cancel) or 吊销 (withdraw)."""
    from trustsvc.licenses.library import Action, RevocationKind

    licenses = _license_service(ctx)
    try:
        view = licenses.transition(
            identifier, Action.REVOKE, actor, reason, revocation_kind=RevocationKind(kind)
        )
        _print_json(view)
    finally:
        licenses.services.close()


@license_group.command("change")
@click.argument("identifier")
@click.option(
    "--data",
    "data_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file with the fields that change.",
)
@click.option("--reason", required=True, help="Why (recorded).")
@_actor_option
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
    changes = _read_data_file(data_path)
    licenses = _license_service(ctx)
    try:
        result = licenses.change(identifier, changes, actor, reason)
        if out_path is not None:
            out_path.write_bytes(licenses.document(result.license.identifier))
        _print_json(result.license)
    finally:
        licenses.services.close()


@license_group.command("present")
@click.argument("identifier")
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
@_actor_option
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
    from datetime import timedelta

    from trustsvc.verification.presentation import present

    licenses = _license_service(ctx)
    try:
        code = present(
            licenses,
            identifier,
            actor=actor,
            lifetime=timedelta(seconds=lifetime) if lifetime else None,
            single_use=single_use,
            purpose=purpose,
            intended_verifier=intended_verifier,
        )
    finally:
        licenses.services.close()
    _print_json(code)


@license_group.command("checks")
@click.argument("identifier")
@click.pass_context
def license_checks(ctx: click.Context, identifier: str) -> None:
    """Who checked this license, when and why (what its holder may see)."""
    from trustsvc.verification.presentation import checks_of

    licenses = _license_service(ctx)
    try:
        _print_json(checks_of(licenses, identifier))
    finally:
        licenses.services.close()


@cli.group()
def trust() -> None:
    """The operator's trust list: roots whose seals verification accepts."""


@trust.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_actor_option
@click.pass_context
def trust_add(ctx: click.Context, file: Path, actor: str | None) -> None:
    """Trust a root CA certificate (PEM or DER) besides the service's own."""
    from trustsvc.pki.trust import add_trust_anchor

    services = _open(ctx)
    try:
        _print_json(add_trust_anchor(services, file.read_bytes(), _operator(actor)))
    finally:
        services.close()


@cli.command("operator-record")
@click.option(
    "--action",
    type=click.Choice(
        [
            "client_add",
            "client_revoke",
            "client_rotate",
            "department_add",
            "seal_issue",
            "seal_revoke",
            "seal_import",
            "trust_add",
        ]
    ),
    help="Only this kind of change.",
)
@click.option("--actor", help="Only changes by this operator (OS user, --actor, admin client).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--before", type=click.IntRange(1, 2**31 - 1), help="Continue below this entry id.")
@click.pass_context
def operator_record(
    ctx: click.Context, action: str | None, actor: str | None, limit: int, before: int | None
) -> None:
    """Who changed clients, departments, seals and the trust list: JSON, newest first."""
    from trustsvc.audit.operators import OperatorAction, operator_events

    services = _open(ctx)
    try:
        _print_json(
            operator_events(
                services,
                limit=limit,
                before=before,
                action=OperatorAction(action) if action else None,
                actor=actor,
            )
        )
    finally:
        services.close()


@trust.command("list")
@click.pass_context
def trust_list(ctx: click.Context) -> None:
    """The roots added to the trust list (the service's own root is always trusted)."""
    from trustsvc.pki.trust import trust_anchors

    services = _open(ctx)
    try:
        _print_json(trust_anchors(services))
    finally:
        services.close()


@cli.command("issue-batch")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--department", "department_code", required=True, help="Issuing department's credit code."
)
@click.option("--type", "type_key", required=True, help="License type key.")
@click.option("--workers", type=click.IntRange(1, 64), help="Processes (default: all cores).")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Per-row report, JSON Lines (default: FILE.report.jsonl).",
)
@click.pass_context
def issue_batch(
    ctx: click.Context,
    file: Path,
    department_code: str,
    type_key: str,
    workers: int | None,
    report_path: Path | None,
) -> None:
    """Issue one license per row of FILE (.csv or .jsonl); safe to re-run after an interruption."""
    from trustsvc.licenses.batch import count_rows, run_batch
    from trustsvc.services import open_services

    settings = _settings(ctx)
    open_services(settings).close()  # fail on settings, home or keys before starting workers
    report_path = report_path or file.with_name(file.name + ".report.jsonl")
    total = count_rows(file)
    with click.progressbar(length=total, label="issuing", file=sys.stderr) as bar:
        summary = run_batch(
            settings, file, department_code, type_key, report_path, workers, progress=bar.update
        )
    _print_json(summary)
    if summary.errors:
        sys.exit(EXIT_FAILURE)


# ---- verification --------------------------------------------------------------

#: ``verify`` and ``verify-token`` exit 0 for an online ``valid``, this for an offline
#: ``valid_offline`` (the seal holds; the library was not asked), 1 for anything else.
EXIT_VALID_OFFLINE = 3


@cli.command()
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
@click.pass_context
def verify(
    ctx: click.Context, file: Path, as_json: bool, offline: bool, report_path: Path | None
) -> None:
    """Verify a sealed PDF: one verdict, its reasons and the facts (exit 0 only if valid)."""
    from trustsvc.services import open_offline_services
    from trustsvc.verification.verifier import Verifier

    _refuse_offline_report(offline, report_path)
    services = open_offline_services(_settings(ctx)) if offline else _open(ctx)
    try:
        verifier = Verifier(services, allow_fetching=not offline, offline=offline)
        data = file.read_bytes()
        if len(data) > verifier.max_bytes:
            data = data[: verifier.max_bytes + 1]  # enough to be refused as too large
        report = verifier.verify_pdf(data)
        if report_path is not None:
            _write_printout(services, report, report_path)
    finally:
        services.close()
    _print_report(report, as_json)


def _refuse_offline_report(offline: bool, report_path: Path | None) -> None:
    # The report is sealed with the service's report seal, whose record is in the
    # database that an offline check never opens: refuse before any work.
    if offline and report_path is not None:
        _fail(
            "--report seals the report with the service's seal, which needs its database: "
            "leave out --offline or --report",
            EXIT_INVALID_INPUT,
        )


def _write_printout(services: Any, report: Any, path: Path) -> None:
    """The report as a PDF sealed with the service's verification-report seal."""
    from trustsvc.verification.report_seal import ReportSealer

    path.write_bytes(ReportSealer(services).seal(report))


def _print_report(report: Any, as_json: bool) -> None:
    from trustsvc.verification.report import VERDICT_TEXT

    if as_json:
        _print_json(report)
    else:
        zh, en = VERDICT_TEXT[report.verdict]
        scope = "联网核验 online" if report.scope == "online" else "离线核验 offline"
        click.echo(f"{report.verdict.value}  {zh} / {en}  [{scope}]")
        for reason in report.reasons:
            click.echo(f"  - {reason.code}: {reason.message_zh} {reason.message_en}")
        for name, value in dataclasses.asdict(report.facts).items():
            if value is not None:
                click.echo(f"  {name}: {_jsonable(value)}")
    if report.is_valid_offline:
        sys.exit(EXIT_VALID_OFFLINE)
    if not report.is_valid:
        sys.exit(EXIT_FAILURE)


@cli.command("verify-token")
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
    from trustsvc.services import open_offline_services, open_services
    from trustsvc.verification.presentation import checker_named
    from trustsvc.verification.verifier import Verifier

    _refuse_offline_report(offline, report_path)
    if bundle_path is not None and not offline:
        _fail(
            "--trust-bundle is for --offline checks (online, the library knows more)",
            EXIT_INVALID_INPUT,
        )
    token = token.strip().rsplit("/v/", 1)[-1]
    settings = _settings(ctx)
    services = open_offline_services(settings) if offline else open_services(settings)
    try:
        bundle = _trust_bundle(services, bundle_path) if bundle_path is not None else None
        # Offline nothing is recorded and no database is read: nobody to check as.
        checker = checked_by if offline else checker_named(services, checked_by, purpose)
        report = Verifier(services, allow_fetching=False, offline=offline).verify_token(
            token, offline=offline, checked_by=checker, purpose=purpose
        )
        if bundle is not None:
            report = _with_bundle(report, token, bundle)
        if report_path is not None:
            _write_printout(services, report, report_path)
    finally:
        services.close()
    _print_report(report, as_json)


@cli.group("report-seal")
def report_seal_group() -> None:
    """The service's verification-report seal (核验报告专用章), which seals printed reports."""


@report_seal_group.command("show")
@click.pass_context
def report_seal_show(ctx: click.Context) -> None:
    """Every report seal certificate, oldest first (one is made at init or first use)."""
    from trustsvc.verification.report_seal import report_seals

    services = _open(ctx)
    try:
        _print_json(report_seals(services))
    finally:
        services.close()


@report_seal_group.command("revoke")
@click.option(
    "--reason",
    default="unspecified",
    show_default=True,
    type=click.Choice(["unspecified", "key_compromise", "superseded", "cessation_of_operation"]),
)
@click.option("--actor", help="Who is acting, for the operator record (default: the OS user).")
@click.pass_context
def report_seal_revoke(ctx: click.Context, reason: str, actor: str | None) -> None:
    """Revoke the report seal (CRL and OCSP); the next report is sealed with a new one."""
    from trustsvc.verification.report_seal import revoke_report_seal

    services = _open(ctx)
    try:
        _print_json(revoke_report_seal(services, reason, operator=_operator(actor)))
    finally:
        services.close()


def _trust_bundle(services: Any, path: Path) -> Any:
    """The bundle in ``path``, its signature checked against the home's root, or one error line."""
    from trustsvc.pki.bundle import MAX_BUNDLE_BYTES, read_bundle

    try:
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            _fail(f"{path} is larger than a trust bundle can be", EXIT_INVALID_INPUT)
        data = path.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}", EXIT_INVALID_INPUT)
    bundle = read_bundle(data, services.pki.root, services.clock.now())
    click.echo(f"trust bundle version {bundle.version} of {bundle.issued_at.isoformat()}", err=True)
    return bundle


def _with_bundle(report: Any, token: str, bundle: Any) -> Any:
    """The offline report, with the token's seal status as the bundle states it."""
    from datetime import UTC, datetime

    from trustsvc.verification import reasons as R
    from trustsvc.verification.report import conclude
    from trustsvc.verification.tokens import InvalidTokenError, parse_token

    try:
        parsed = parse_token(token.strip())
    except InvalidTokenError:
        return report
    seal = bundle.seal(parsed.kid)
    signed_at = parsed.claims.signed_at
    moment = datetime.fromtimestamp(signed_at, UTC) if signed_at is not None else None
    if seal is None or not seal.refuses(moment) or R.TOKEN_SEAL_REVOKED in report.reasons:
        return report
    return conclude([*report.reasons, R.TOKEN_SEAL_REVOKED], report.facts, report.checked_at)


@cli.command("trust-bundle-signer")
@click.pass_context
def trust_bundle_signer(ctx: click.Context) -> None:
    """Give a home made before the trust bundle its signer (new homes have one)."""
    from trustsvc.clock import SystemClock
    from trustsvc.db import open_database
    from trustsvc.pki.home import add_trust_list_signer

    settings = _settings(ctx)
    database = open_database(settings.resolved_database_url)
    try:
        pki = add_trust_list_signer(settings, database, SystemClock())
    finally:
        database.dispose()
    signer = pki.trust_list
    assert signer is not None
    click.echo(f"trust bundle signer: {signer.subject.rfc4514_string()}")


@cli.group()
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
    from datetime import timedelta

    from trustsvc.licenses.numbers import void_abandoned
    from trustsvc.licenses.service import LicenseService
    from trustsvc.licenses.sweep import sweep_documents
    from trustsvc.services import open_services

    services = open_services(_settings(ctx))
    try:
        grace = timedelta(minutes=grace_minutes or services.settings.store_sweep_grace_minutes)
        report = sweep_documents(
            LicenseService(services).store, services.database, services.clock, grace
        )
        voided = void_abandoned(services.database, services.clock, grace)
    finally:
        services.close()
    click.echo(
        f"removed {report.documents_removed} unrecorded document(s) older than "
        f"{int(grace.total_seconds() // 60)} min, {report.temporaries_removed} temporary file(s)"
    )
    click.echo(f"voided {voided} abandoned license number reservation(s)")


def main() -> None:
    # pyHanko logs every validation failure with a traceback; the verdict
    # already carries the reasons, so on a terminal they are noise.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    cli(prog_name="trustsvc")
