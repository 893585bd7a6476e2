"""The OCSP responder's certificate: short-lived, renewed by the process that signs.

RFC 6960 §4.2.2.2.1: a delegated responder certificate with id-pkix-ocsp-nocheck
cannot itself be revoked, so it should live a short time. Each serving process
keeps its own responder: when the certificate it signs with is past half its
life (or lives longer than configured, as homes made before this rule do), it
makes a fresh key in memory and has the issuing CA certify it. The key never
touches a disk, so a stolen copy of the home yields no responder key that is
still good; several processes or nodes renewing at once need not agree, since
any certificate the issuing CA gave for OCSP signing is a valid responder
(each answer carries its own). Every certificate made is recorded, like any
other the CA issues.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from trustsvc.clock import Clock
from trustsvc.db import Database
from trustsvc.db.models import CertificateRole
from trustsvc.pki import ca
from trustsvc.pki.certificates import new_record
from trustsvc.pki.home import Pki, PkiName
from trustsvc.pki.keystore import SigningKey, generate_private_key
from trustsvc.settings import KeyAlgorithm


class OcspResponder:
    """The certificate and key the responder signs with now."""

    def __init__(
        self,
        database: Database,
        pki: Pki,
        clock: Clock,
        algorithm: KeyAlgorithm | None = None,
        lifetime: timedelta = ca.OCSP_LIFETIME,
    ) -> None:
        self.database = database
        self.pki = pki
        self.clock = clock
        # By default the issuing CA's kind of key, which every relying party already handles.
        self.algorithm = algorithm or (
            KeyAlgorithm.RSA_3072
            if isinstance(pki.issuing.public_key(), rsa.RSAPublicKey)
            else KeyAlgorithm.EC_P256
        )
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._current: tuple[x509.Certificate, SigningKey] | None = None

    def current(self) -> tuple[x509.Certificate, SigningKey]:
        """The responder certificate and key, renewed first when due."""
        now = self.clock.now()
        current = self._current
        if current is not None and not self._due(current[0], now):
            return current
        with self._lock:
            if self._current is None:
                # The home's responder, made at init, serves while it is fresh.
                self._current = (self.pki.ocsp, self.pki.key(PkiName.OCSP))
            if self._due(self._current[0], now):
                self._current = self._renew(now)
            return self._current

    def _due(self, certificate: x509.Certificate, now: datetime) -> bool:
        not_before = certificate.not_valid_before_utc
        not_after = certificate.not_valid_after_utc
        # The clock-skew back-dating is not counted as life.
        life = not_after - not_before
        too_long = life > self.lifetime + timedelta(hours=1)
        return too_long or now >= not_before + life / 2 or now < not_before

    def _renew(self, now: datetime) -> tuple[x509.Certificate, SigningKey]:
        key = generate_private_key(self.algorithm)
        certificate = ca.build_ocsp_certificate(
            key,
            self.pki.ocsp.subject,
            self.pki.issuing,
            self.pki.key(PkiName.ISSUING),
            now,
            urls=self.pki.urls,
            policy=self.pki.policy,
            lifetime=self.lifetime,
        )
        with self.database.begin() as session:
            session.add(new_record(certificate, CertificateRole.OCSP, PkiName.ISSUING, now))
        return certificate, key
