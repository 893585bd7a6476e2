"""The running service's parts that every domain function may be handed: settings, the
clock, the database, the PKI with its keys, the seal key store, revocation (CRL/OCSP)
and the timestamp authority.

``bootstrap`` opens them (``open_services``); the packages above ``pki`` take them.
May import: ``pki``, ``db`` and the top-level helpers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from trustsvc.clock import Clock
from trustsvc.db import Database
from trustsvc.pki.home import Pki
from trustsvc.pki.keystore import SealKeyStore
from trustsvc.pki.responder import OcspResponder
from trustsvc.pki.revocation import RevocationService
from trustsvc.pki.tsa import TimestampAuthority
from trustsvc.settings import Settings


@dataclass
class Services:
    """An open home's parts; ``close()`` releases the database."""

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


__all__ = ["Services"]
