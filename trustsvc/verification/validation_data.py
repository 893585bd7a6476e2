"""Certificates, OCSP answers and CRLs for path validation (RFC 5280, RFC 6960), parsed once.

The trust anchors, the service's own CA certificates and the validation data
embedded in sealed licenses (the DSS of PAdES B-LT, ETSI EN 319 142-1) are the
same few DER objects for every document of a department. Parsing them is
cheap; what is not is everything asn1crypto computes lazily on a parsed
object and keeps there: names prepared for comparison (RFC 5280 §7.1,
stringprep in pure Python), extensions, issuer and serial. Most of a path
validation's time went into recomputing those for fresh copies.

So parsed objects are kept by their exact DER bytes: the same bytes always
parse to the same value, whatever document they came from, and a key that is
the bytes themselves cannot collide. What varies per document — the moment
of validation, which answers are offered, the certificate registry — is still
a new ``ValidationContext`` for every verification. The objects are kept per
thread: asn1crypto fills in its lazy parts without locks, so a parsed object
is never shared between threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import TypeVar

from asn1crypto import crl, ocsp
from asn1crypto import x509 as asn1_x509
from asn1crypto.core import Asn1Value
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.reader import PdfFileReader

#: Distinct DER objects kept per thread (a department's chain, TSA, OCSP answer, CRLs: a handful).
DEFAULT_LIMIT = 512

_Parsed = TypeVar("_Parsed", bound=Asn1Value)


class ParsedObjects:
    """Parsed DER objects by their bytes, per thread, least recently used dropped first."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._local = threading.local()

    def held(self) -> dict[tuple[type[Asn1Value], bytes], Asn1Value]:
        """What this thread holds now, by (type, DER): a copy, for inspection."""
        return dict(self._cache())

    def _cache(self) -> OrderedDict[tuple[type[Asn1Value], bytes], Asn1Value]:
        cache: OrderedDict[tuple[type[Asn1Value], bytes], Asn1Value] | None = getattr(
            self._local, "cache", None
        )
        if cache is None:
            cache = OrderedDict()
            self._local.cache = cache
        return cache

    def load(self, kind: type[_Parsed], der: bytes) -> _Parsed:
        cache = self._cache()
        key = (kind, bytes(der))
        found = cache.get(key)
        if found is not None:
            cache.move_to_end(key)
            assert isinstance(found, kind)
            return found
        parsed: _Parsed = kind.load(key[1])
        cache[key] = parsed
        if len(cache) > self.limit:
            cache.popitem(last=False)
        return parsed

    def certificates(self, ders: Iterable[bytes]) -> list[asn1_x509.Certificate]:
        return [self.load(asn1_x509.Certificate, der) for der in ders]


class EmbeddedValidationData:
    """What a document's DSS offers: certificates, OCSP answers and CRLs.

    Read as pyHanko's ``DocumentSecurityStore.read_dss`` and
    ``as_validation_context`` read it (certificates with the same issuer and
    serial collapse to the last one), but each stream once, and parsed
    through ``ParsedObjects``.
    """

    def __init__(
        self,
        certificates: list[asn1_x509.Certificate],
        ocsps: list[ocsp.OCSPResponse],
        crls: list[crl.CertificateList],
    ) -> None:
        self.certificates = certificates
        self.ocsps = ocsps
        self.crls = crls

    @classmethod
    def read(cls, reader: PdfFileReader, parsed: ParsedObjects) -> EmbeddedValidationData:
        dss = reader.root["/DSS"]
        by_issuer_serial: dict[str, asn1_x509.Certificate] = {}
        for der in _stream_data(dss, "/Certs", DecodePurpose.CERTIFICATE):
            certificate = parsed.load(asn1_x509.Certificate, der)
            by_issuer_serial[certificate.issuer_serial] = certificate
        ocsps = [
            parsed.load(ocsp.OCSPResponse, der)
            for der in _stream_data(dss, "/OCSPs", DecodePurpose.OCSP_RESPONSE)
        ]
        crls = [
            parsed.load(crl.CertificateList, der)
            for der in _stream_data(dss, "/CRLs", DecodePurpose.CRL)
        ]
        return cls(list(by_issuer_serial.values()), ocsps, crls)


def _stream_data(
    dss: generic.DictionaryObject, key: str, purpose: DecodePurpose
) -> Iterable[bytes]:
    try:
        items = dss[key]
    except KeyError:
        return []
    data: list[bytes] = []
    for item in list(items):
        stream = item.get_object()
        data.append(stream.read_data(purpose))
    return data
