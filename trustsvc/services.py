"""The running service's parts, built once from settings and handed around.

The CLI and the API both start here; the domain functions take what they need
from a ``Services`` instead of reaching for globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

from trustsvc.clock import Clock, SystemClock
from trustsvc.db import Database, open_database
from trustsvc.errors import ConfigurationError
from trustsvc.pki.home import Pki, init_pki, is_initialised, load_pki, seal_key_store
from trustsvc.pki.keystore import SealKeyStore
from trustsvc.pki.responder import OcspResponder
from trustsvc.pki.revocation import RevocationService
from trustsvc.pki.tsa import TimestampAuthority
from trustsvc.settings import Settings


@dataclass
class Services:
    settings: Settings
    clock: Clock
    database: Database
    pki: Pki
    seal_keys: SealKeyStore
    revocation: RevocationService = field(init=False)
    tsa: TimestampAuthority = field(init=False)

    def __post_init__(self) -> None:
        self.revocation = RevocationService(
            self.database,
            self.pki,
            self.clock,
            crl_lifetime=timedelta(hours=self.settings.crl_lifetime_hours),
            ocsp_lifetime=timedelta(hours=self.settings.ocsp_lifetime_hours),
        )
        self.revocation.responder = OcspResponder(
            self.database,
            self.pki,
            self.clock,
            lifetime=timedelta(hours=self.settings.ocsp_responder_lifetime_hours),
        )
        self.tsa = TimestampAuthority(
            self.pki.tsa, self.pki.key("tsa"), self.clock, self.settings.tsa_policy
        )

    def close(self) -> None:
        self.database.dispose()


def open_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Open an initialised home: settings checked, database migrated, keys decrypted."""
    settings.check_production()
    pki = load_pki(settings)
    pki.check_keys()
    database = open_database(settings.resolved_database_url)
    return Services(settings, clock or SystemClock(), database, pki, seal_key_store(settings))


def open_offline_services(settings: Settings, clock: Clock | None = None) -> Services:
    """An initialised home's PKI without its database: for offline verification.

    The database is never opened, migrated or connected to: its engine has no
    way to connect, so anything that would read it fails instead.
    """
    settings.check_production()
    pki = load_pki(settings)
    database = Database(_unconnectable_engine(), sessionmaker())
    return Services(settings, clock or SystemClock(), database, pki, seal_key_store(settings))


def _unconnectable_engine() -> Engine:
    def refuse() -> Any:
        raise ConfigurationError("offline: no database is read")

    return create_engine("sqlite://", creator=refuse, poolclass=NullPool)


def initialise_home(settings: Settings, clock: Clock | None = None) -> Pki:
    """Create a new home's PKI and database schema."""
    settings.check_production()
    # The home holds keys, the database and the documents: its owner's alone.
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.home.chmod(0o700)
    database = open_database(settings.resolved_database_url)
    try:
        return init_pki(settings, database, clock or SystemClock())
    finally:
        database.dispose()


__all__ = [
    "Services",
    "initialise_home",
    "is_initialised",
    "open_offline_services",
    "open_services",
]
