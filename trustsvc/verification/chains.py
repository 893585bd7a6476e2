"""Trust set-up and chain caches: what every check of a verifier starts from.

A verifier holds its trust material (``trustsvc.verification.trust``), its
optional library lookup, and what it has worked out once and keeps: whether a
seal certificate chains to an anchor, the parsed certificates and answers, the
published seal certificates QR tokens name. None of it is a private key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

from trustsvc.errors import ConfigurationError
from trustsvc.pki.ca import credit_code_of
from trustsvc.tokens.format import ParsedToken
from trustsvc.verification.library import LibraryLookup
from trustsvc.verification.trust import TrustMaterial
from trustsvc.verification.validation_data import ParsedObjects

#: Documents larger than this are refused before parsing.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: A verification that takes longer than this is abandoned as not valid.
DEFAULT_TIME_LIMIT = timedelta(seconds=10)


@dataclass(frozen=True)
class PublishedSeal:
    """A seal certificate QR tokens may name, with what every check needs of it."""

    certificate: x509.Certificate
    credit_code: str | None
    subject: str
    serial_hex: str
    fingerprint: bytes
    #: The certificate's key, read once (not per token).
    public_key: PublicKeyTypes


class TrustChecks:
    """The part of a verifier every check shares: its trust, its library, its caches."""

    def __init__(
        self,
        trust: TrustMaterial,
        library: LibraryLookup | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        allow_fetching: bool = True,
        time_limit: timedelta = DEFAULT_TIME_LIMIT,
    ) -> None:
        self.trust = trust
        self.library = library
        self.max_bytes = max_bytes
        self.offline = library is None
        self.allow_fetching = allow_fetching and not self.offline
        self.time_limit = time_limit
        self.trust_roots = trust.trust_roots
        # Whether a seal certificate chains to the anchors cannot change while
        # the anchors do not: judged once per certificate.
        self._chain_verdicts: dict[bytes, bool] = {}
        #: DER objects parsed once and reused across documents (per thread).
        self.parsed_objects = ParsedObjects()
        self._own_intermediates = [_der(c) for c in (trust.issuing, trust.tsa)]
        self._published: dict[bytes, PublishedSeal] = {}
        # A license record's facts never change (a change is a new version):
        # its content hash is computed once per verifier, not per token check.
        self._content_hashes: dict[tuple[int, str, int], bytes] = {}
        # A printed license token is scanned again and again, and whether its
        # signature holds under a seal's key cannot change: (signed bytes,
        # signature) -> the fingerprint of the seal certificate it verified under.
        self._verified_tokens: dict[tuple[bytes, bytes], bytes] = {}
        # And such a token, as text, is decoded to the same claims every time: the text
        # of one whose signature held -> what it decoded to.
        self._decoded_tokens: dict[str, ParsedToken] = {}

    def _library(self) -> LibraryLookup:
        if self.library is None:
            raise ConfigurationError("an offline verifier has no library to ask")
        return self.library

    def _today(self) -> date:
        return self.trust.clock.now().astimezone(self.trust.zone).date()

    def _published_seal(self, kid: bytes) -> PublishedSeal | None:
        seal = self._published.get(kid)
        if seal is None:
            certificate = self.trust.published_seal(kid)
            if certificate is None:
                return None
            # Named by a hash of itself: what is cached can never go stale.
            seal = PublishedSeal(
                certificate,
                credit_code_of(certificate),
                certificate.subject.rfc4514_string(),
                format(certificate.serial_number, "x"),
                certificate.fingerprint(hashes.SHA256()),
                certificate.public_key(),
            )
            self._published[kid] = seal
        return seal

    def _issued_by_a_trusted_ca(self, seal: PublishedSeal) -> bool:
        """Whether the certificate chains to a trust anchor (signatures and CA constraints).

        A token carries no timestamp, so the chain is judged as of the
        certificate's own start of validity; revocation is the library's
        business online, and cannot be known offline.
        """
        return self._chain_is_sound(seal.certificate, seal.fingerprint)

    def _chain_is_sound(self, certificate: x509.Certificate, fingerprint: bytes) -> bool:
        """Whether ``certificate`` chains to an anchor, judged once per certificate."""
        if not self.trust_roots:
            return False
        cached = self._chain_verdicts.get(fingerprint)
        if cached is not None:
            return cached
        trusted = self._chains_to_anchor(certificate)
        self._chain_verdicts[fingerprint] = trusted
        return trusted

    def _chains_to_anchor(self, certificate: x509.Certificate) -> bool:
        context = ValidationContext(
            trust_roots=self._roots(),
            other_certs=self.parsed_objects.certificates([_der(self.trust.issuing)]),
            moment=certificate.not_valid_before_utc + timedelta(seconds=1),
            revocation_mode="soft-fail",
            allow_fetching=False,
        )
        try:
            validate = CertificateValidator(
                self.parsed_objects.load(asn1_x509.Certificate, _der(certificate)),
                validation_context=context,
            )
            _run(validate.async_validate_path())
        except (PathBuildingError, PathValidationError, ValueError):
            return False
        return True

    def _roots(self) -> list[asn1_x509.Certificate]:
        return self.parsed_objects.certificates(_der(c) for c in self.trust_roots)


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run pyHanko's async validation to completion, also when called on a running loop.

    The API verifies license tokens on its event loop; a chain is judged once per
    seal certificate, and that once runs on a thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)
