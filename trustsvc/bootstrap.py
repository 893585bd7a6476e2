"""The composition root: what the CLI, the API and the workers run on, built once.

Every part is made here and handed to the code that uses it; nothing else
builds a database, a key, a store or a sealer. Two levels:

- ``Services`` (``open_services``): settings checked, the database migrated,
  the PKI's keys decrypted, the seal key store, revocation (CRL/OCSP) and the
  TSA. The domain functions of departments, clients and keys take it.
- ``Runtime`` (``open_runtime``): the services and what issuing needs on top
  (the data key, the type catalogue, the document store, the issuing
  service). The API app, the CLI's commands that issue or read licenses, and
  the batch workers (``open_runtime`` is their picklable opener) run on one,
  and ``close()`` it. Code below is handed the parts it uses, never the runtime.

The builders (``build_data_key``, ``build_document_store``, ``build_sealer``,
``issuing_parts``, ``build_verifier``) are the one place each part is made.
``offline_verifier`` needs the home's certificate files alone (no key, no
database); ``initialise_home`` makes a new home.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from cryptography import x509

from trustsvc.audit.log.integration import Integrator
from trustsvc.audit.log.publication import Publisher, WitnessPolicy
from trustsvc.audit.log.witnesses import WitnessClient, witness
from trustsvc.clock import Clock, SystemClock
from trustsvc.db import Database, open_database
from trustsvc.documents.store import DatabaseDocumentStore, DocumentStore, FolderDocumentStore
from trustsvc.errors import ConfigurationError
from trustsvc.pki.data_key import DataKey, load_or_create_data_key
from trustsvc.pki.home import Pki, init_pki, is_initialised, load_pki, seal_key_store
from trustsvc.pki.log_key import load_or_create_log_key
from trustsvc.pki.tsa import make_timestamper
from trustsvc.seals.sealer import Sealer, SealProfile
from trustsvc.services import Services
from trustsvc.settings import DocumentStoreKind, Settings
from trustsvc.tlog.errors import TlogError
from trustsvc.tlog.note import NoteSigner

if TYPE_CHECKING:
    # The licenses layer takes ``Services`` from here; it is imported where it is built.
    from trustsvc.licenses.issuing import IssuingParts, IssuingService
    from trustsvc.licenses.types import LicenseType
    from trustsvc.verification.library import DatabaseLibrary
    from trustsvc.verification.trust import TrustMaterial
    from trustsvc.verification.verifier import Verifier


def open_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Open an initialised home: settings checked, database migrated, keys decrypted."""
    settings.check_production()
    pki = load_pki(settings)
    pki.check_keys()
    database = open_database(settings.resolved_database_url)
    return Services(settings, clock or SystemClock(), database, pki, seal_key_store(settings))


def initialise_home(settings: Settings, clock: Clock | None = None) -> Pki:
    """Create a new home's PKI and database schema."""
    settings.check_production()
    # The home holds keys, the database and the documents: its owner's alone.
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.home.chmod(0o700)
    database = open_database(settings.resolved_database_url)
    try:
        pki = init_pki(settings, database, clock or SystemClock())
    finally:
        database.dispose()
    load_or_create_log_key(settings.home, settings.key_passphrase)
    return pki


# ---- the transparency log ---------------------------------------------------------------


def build_log_key(settings: Settings) -> NoteSigner:
    """The log's checkpoint key, named by its origin (made in the home on first use)."""
    key = load_or_create_log_key(settings.home, settings.key_passphrase)
    try:
        return NoteSigner(settings.resolved_log_origin, key)
    except TlogError as exc:
        raise ConfigurationError(f"TRUSTSVC_LOG_ORIGIN is unusable: {exc.message}") from exc


def build_witness_policy(settings: Settings) -> WitnessPolicy:
    """The witnesses configured (TRUSTSVC_LOG_WITNESSES) and the quorum they must reach."""
    try:
        witnesses = tuple(witness(vkey, url) for vkey, url in settings.log_witness_entries)
    except TlogError as exc:
        raise ConfigurationError(f"TRUSTSVC_LOG_WITNESSES is unusable: {exc.message}") from exc
    return WitnessPolicy(witnesses, settings.log_witness_quorum)


def build_log_publisher(services: Services) -> Publisher:
    """The log's publisher: its key, the witness policy, the witness client."""
    settings = services.settings
    return Publisher(
        services.database,
        services.clock,
        build_log_key(settings),
        build_witness_policy(settings),
        WitnessClient(settings.log_witness_timeout_seconds),
    )


def build_integrator(services: Services) -> Integrator:
    """The background integrator of a serving process, publishing after each advance."""
    publisher = build_log_publisher(services)
    return Integrator(
        services.database,
        services.clock,
        interval=services.settings.log_integrate_seconds,
        after=lambda _head: publisher.publish(),
    )


# ---- the parts issuing needs ----------------------------------------------------------


def build_data_key(settings: Settings) -> DataKey:
    """The key that seals holder ID numbers and derives the serial cipher (made on first use)."""
    return load_or_create_data_key(settings.home / "pki" / "data.key", settings.key_passphrase)


def build_document_store(settings: Settings, database: Database) -> DocumentStore:
    """Where sealed PDFs are kept: the database (several nodes) or the home's folder."""
    if settings.document_store is DocumentStoreKind.DATABASE:
        return DatabaseDocumentStore(database)
    return FolderDocumentStore(settings.home / "documents")


def build_sealer(services: Services) -> Sealer:
    """The PAdES sealer: the configured TSA (or the built-in one), revocation, the CA chain."""
    settings = services.settings
    return Sealer(
        make_timestamper(settings.tsa_url, services.tsa, settings.tsa_timeout_seconds),
        services.revocation,
        services.pki.issuing,
        services.pki.tsa,
        SealProfile(settings.seal_profile),
    )


def issuing_parts(
    services: Services,
    types: Mapping[str, LicenseType] | None = None,
    data_key: DataKey | None = None,
) -> IssuingParts:
    """The issuing service's collaborators, each built once from ``services``."""
    from trustsvc.departments.seals import active_seal
    from trustsvc.licenses.entitlement import EntitlementBook
    from trustsvc.licenses.issuing import IssuingParts
    from trustsvc.licenses.production import IssuingSettings
    from trustsvc.licenses.types import load_types

    return IssuingParts(
        settings=IssuingSettings.of(services.settings),
        database=services.database,
        clock=services.clock,
        types=dict(types) if types is not None else load_types(),
        data_key=data_key if data_key is not None else build_data_key(services.settings),
        store=build_document_store(services.settings, services.database),
        sealer=build_sealer(services),
        seals=partial(active_seal, services),
        entitlements=EntitlementBook(services.database),
    )


def build_licenses(
    services: Services, types: Mapping[str, LicenseType] | None = None
) -> IssuingService:
    """The issuing service on ``services``, its parts built by ``issuing_parts``."""
    from trustsvc.licenses.issuing import IssuingService

    return IssuingService(issuing_parts(services, types))


def online_trust_material(
    services: Services, extra_trust_roots: Iterable[x509.Certificate] = ()
) -> TrustMaterial:
    """The service's trust material: its certificates and the operator's trust list."""
    from trustsvc.pki.trust import operator_roots
    from trustsvc.verification.trust import load_trust_material

    roots = [*extra_trust_roots, *operator_roots(services.database)]
    return load_trust_material(services.settings, services.clock, roots)


def database_library(services: Services) -> DatabaseLibrary:
    """The library lookup a verifier asks online: the service's database."""
    from trustsvc.verification.library import DatabaseLibrary

    return DatabaseLibrary(services.database, services.revocation)


def build_verifier(
    services: Services,
    *,
    offline: bool = False,
    extra_trust_roots: Iterable[x509.Certificate] = (),
    max_bytes: int | None = None,
    allow_fetching: bool = True,
    time_limit: timedelta | None = None,
) -> Verifier:
    """A verifier for this service: online with its library, or offline from its files only."""
    from trustsvc.verification.verifier import DEFAULT_MAX_BYTES, DEFAULT_TIME_LIMIT, Verifier

    if offline:
        return offline_verifier(
            services.settings,
            services.clock,
            extra_trust_roots=extra_trust_roots,
            max_bytes=max_bytes,
            time_limit=time_limit,
        )
    return Verifier(
        online_trust_material(services, extra_trust_roots),
        database_library(services),
        max_bytes=DEFAULT_MAX_BYTES if max_bytes is None else max_bytes,
        allow_fetching=allow_fetching,
        time_limit=DEFAULT_TIME_LIMIT if time_limit is None else time_limit,
    )


def offline_verifier(
    settings: Settings,
    clock: Clock | None = None,
    *,
    extra_trust_roots: Iterable[x509.Certificate] = (),
    report_seals: Iterable[str] = (),
    max_bytes: int | None = None,
    time_limit: timedelta | None = None,
) -> Verifier:
    """A verifier reading nothing but the home's certificate files: no key, no database.

    ``report_seals``: fingerprints of report seals trusted beside the home's published
    ones (a trust bundle's, ``TrustBundle.report_seals``).
    """
    from trustsvc.verification.trust import load_trust_material
    from trustsvc.verification.verifier import DEFAULT_MAX_BYTES, DEFAULT_TIME_LIMIT, Verifier

    settings.check_production()
    trust = load_trust_material(settings, clock or SystemClock(), extra_trust_roots)
    trust = trust.with_report_seals(report_seals)
    return Verifier(
        trust,
        None,
        max_bytes=DEFAULT_MAX_BYTES if max_bytes is None else max_bytes,
        allow_fetching=False,
        time_limit=DEFAULT_TIME_LIMIT if time_limit is None else time_limit,
    )


# ---- the runtime -----------------------------------------------------------------------


@dataclass(frozen=True)
class Runtime:
    """Everything an entry point runs on, built once by ``open_runtime``; ``close()`` it."""

    services: Services
    #: The key that seals holder ID numbers and batch rows, and derives the other subkeys.
    data_key: DataKey
    #: The license type catalogue the issuing service was built with.
    types: Mapping[str, LicenseType]
    #: Where sealed PDFs are kept.
    store: DocumentStore
    #: The issuing service (issue, change, lifecycle, reading).
    licenses: IssuingService

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def database(self) -> Database:
        return self.services.database

    @property
    def clock(self) -> Clock:
        return self.services.clock

    def close(self) -> None:
        self.services.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_runtime(
    settings: Settings,
    clock: Clock | None = None,
    types: Mapping[str, LicenseType] | None = None,
) -> Runtime:
    """Open an initialised home and build the issuing service on it."""
    return runtime_on(open_services(settings, clock), types)


def build_runtime(services: Services, types: Mapping[str, LicenseType] | None = None) -> Runtime:
    """A runtime on services the caller keeps (and closes)."""
    from trustsvc.licenses.issuing import IssuingService

    parts = issuing_parts(services, types)
    return Runtime(services, parts.data_key, parts.types, parts.store, IssuingService(parts))


def runtime_on(services: Services, types: Mapping[str, LicenseType] | None = None) -> Runtime:
    """A runtime on services already open (closing it closes them)."""
    try:
        return build_runtime(services, types)
    except BaseException:
        services.close()
        raise


__all__ = [
    "Runtime",
    "Services",
    "build_data_key",
    "build_document_store",
    "build_licenses",
    "build_runtime",
    "build_sealer",
    "build_verifier",
    "initialise_home",
    "is_initialised",
    "issuing_parts",
    "open_runtime",
    "open_services",
    "runtime_on",
]
