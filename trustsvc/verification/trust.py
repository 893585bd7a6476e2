"""Trust material: everything a verifier trusts, as one frozen value without a private key.

Like sigstore-python's ``TrustedRoot`` and the inputs of pyHanko's
``ValidationContext``: the trust anchors (the service's root and the
operator's extra roots), the service's own CA certificates (issuing, TSA), where
the published seal certificates are, which of them are the service's own
verification-report seals (a 加注件's note is sealed with one), the clock and the
time zone. It is read
from the home's certificate files (and, online, the operator's trust list),
never from a key file, so a process that holds only this (the child that
parses uploaded PDFs) has no key to leak. It pickles as DER, to be handed to
such a child.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from trustsvc.clock import Clock
from trustsvc.pki.home import load_pki, published_report_seals, seal_certificate_directory
from trustsvc.settings import Settings


@dataclass(frozen=True)
class TrustMaterial:
    """What a verifier trusts; a new value (not a change) when the trust list changes."""

    #: The service's own root CA.
    root: x509.Certificate
    #: The service's issuing CA (it certifies every seal) and its timestamp authority.
    issuing: x509.Certificate
    tsa: x509.Certificate
    #: Roots besides the service's own (the operator's trust list, a caller's extra ones).
    other_roots: tuple[x509.Certificate, ...]
    #: The home's published seal certificates, ``<key id>.pem`` (what QR tokens name).
    published_seals: Path
    #: The clock verifications are made by, and the zone their days are counted in.
    clock: Clock
    zone: ZoneInfo
    #: SHA-256 fingerprints (hex) of the service's verification-report seals: the only
    #: seals whose purpose note on a license (a 加注件) is the service's word.
    report_seals: frozenset[str] = frozenset()

    @cached_property
    def trust_roots(self) -> list[x509.Certificate]:
        return [self.root, *self.other_roots]

    def published_seal(self, kid: bytes) -> x509.Certificate | None:
        """The published seal certificate with this key id, if any."""
        try:
            return x509.load_pem_x509_certificate(
                (self.published_seals / f"{kid.hex()}.pem").read_bytes()
            )
        except (OSError, ValueError):
            return None

    def with_report_seals(self, fingerprints: Iterable[str]) -> TrustMaterial:
        """This material, also trusting these report seals (a trust bundle's, offline)."""
        return dataclasses.replace(self, report_seals=self.report_seals | frozenset(fingerprints))

    def with_clock(self, clock: Clock) -> TrustMaterial:
        return TrustMaterial(
            self.root,
            self.issuing,
            self.tsa,
            self.other_roots,
            self.published_seals,
            clock,
            self.zone,
            self.report_seals,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # cryptography's certificates do not pickle: they cross as DER.
        return (
            _from_der,
            (
                _der(self.root),
                _der(self.issuing),
                _der(self.tsa),
                tuple(_der(c) for c in self.other_roots),
                str(self.published_seals),
                self.clock,
                self.zone,
                self.report_seals,
            ),
        )


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _from_der(
    root: bytes,
    issuing: bytes,
    tsa: bytes,
    others: tuple[bytes, ...],
    published: str,
    clock: Clock,
    zone: ZoneInfo,
    report_seals: frozenset[str],
) -> TrustMaterial:
    load = x509.load_der_x509_certificate
    return TrustMaterial(
        load(root),
        load(issuing),
        load(tsa),
        tuple(load(c) for c in others),
        Path(published),
        clock,
        zone,
        report_seals,
    )


def load_trust_material(
    settings: Settings, clock: Clock, other_roots: Iterable[x509.Certificate] = ()
) -> TrustMaterial:
    """The home's trust material from its certificate files: no key, no database is read.

    ``other_roots`` are the operator's trust list (``trustsvc.pki.trust.operator_roots``,
    online) and any roots the caller adds.
    """
    pki = load_pki(settings)  # certificates only: keys are decrypted when used, never here
    return TrustMaterial(
        pki.root,
        pki.issuing,
        pki.tsa,
        tuple(other_roots),
        seal_certificate_directory(settings.home),
        clock,
        settings.zone,
        frozenset(
            c.fingerprint(hashes.SHA256()).hex() for c in published_report_seals(settings.home)
        ),
    )
