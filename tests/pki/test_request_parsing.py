"""RFC 3161 and RFC 6960 requests from outsiders: bounded, parsed strictly, answered with
the protocol's own error, quickly, whatever the bytes."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from asn1crypto import algos, core, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ObjectIdentifier
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import DEPARTMENT_A, current_seal
from trustsvc.api.app import create_app
from trustsvc.departments.registry import add_department
from trustsvc.services import Services

#: What every hostile request must be answered within.
BOUND_SECONDS = 0.05


def _timed(answer: Callable[[bytes], bytes], body: bytes) -> bytes:
    # CPU time of this thread: what a request costs, whatever else shares the cores.
    started = time.thread_time()
    reply = answer(body)
    assert time.thread_time() - started < BOUND_SECONDS
    return reply


def _header(length: int) -> bytes:
    if length < 0x80:
        return bytes([0x30, length])
    size = (length.bit_length() + 7) // 8
    return bytes([0x30, 0x80 | size]) + length.to_bytes(size, "big")


def _indefinite(der: bytes) -> bytes:
    """The same SEQUENCE with an indefinite (BER) outer length."""
    skip = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    return b"\x30\x80" + der[skip:] + b"\x00\x00"


HOSTILE = {
    "empty": b"",
    "huge declared length": b"\x30\x84\xff\xff\xff\xff" + b"\x00" * 16,
    "deep nesting": b"\x30\x80" * 2000,
    "deep definite nesting": b"".join(_header(2 * n) for n in range(1000, 0, -1)),
    "oversize": b"\x30\x82\xff\xff" + b"\x00" * 70_000,
    "not asn1": b"GET / HTTP/1.1\r\n\r\n",
}


# ---- RFC 3161 --------------------------------------------------------------------


def _tsa_request(**changes: object) -> bytes:
    body: dict[str, object] = {
        "version": 1,
        "message_imprint": {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "hashed_message": b"a" * 32,
        },
        "nonce": 1234567,
        **changes,
    }
    return tsp.TimeStampReq(body).dump()


def _tsa_status(services: Services, body: bytes) -> tuple[str, set[str] | None]:
    # A rejection is a TimeStampResp with a status and no token (RFC 3161 §2.4.2).
    response = core.Sequence.load(_timed(services.tsa.respond, body))
    status = tsp.PKIStatusInfo.load(response[0].dump())
    return status["status"].native, status["fail_info"].native


def test_a_good_timestamp_request_is_granted(services: Services) -> None:
    assert _tsa_status(services, _tsa_request())[0] == "granted"


@pytest.mark.parametrize(
    "body",
    [
        *HOSTILE.values(),
        _tsa_request() + b"\x00",
        _indefinite(_tsa_request()),
        _tsa_request(version=2),
        _tsa_request(nonce=2**2000),
    ],
    ids=[*HOSTILE, "trailing byte", "indefinite length", "version 2", "huge nonce"],
)
def test_bad_timestamp_requests_are_rejected_with_bad_data_format(
    services: Services, body: bytes
) -> None:
    assert _tsa_status(services, body) == ("rejection", {"bad_data_format"})


# The services are only read from, so one instance serves every example.
_FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_FUZZ
@given(body=st.binary(max_size=600))
def test_fuzz_timestamp_requests(services: Services, body: bytes) -> None:
    _fuzz_one(services.tsa.respond, body)


# ---- RFC 6960 --------------------------------------------------------------------


@pytest.fixture
def seal(services: Services) -> x509.Certificate:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
    return current_seal(services, DEPARTMENT_A)


def _ocsp_request(
    services: Services, seal: x509.Certificate, *extensions: tuple[x509.ExtensionType, bool]
) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(seal, services.pki.issuing, hashes.SHA256())
    for value, critical in extensions:
        builder = builder.add_extension(value, critical=critical)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _ocsp_status(services: Services, body: bytes) -> ocsp.OCSPResponseStatus:
    reply = _timed(services.revocation.ocsp_response, body)
    return ocsp.load_der_ocsp_response(reply).response_status


def test_a_good_ocsp_request_with_a_nonce_is_answered(
    services: Services, seal: x509.Certificate
) -> None:
    body = _ocsp_request(services, seal, (x509.OCSPNonce(b"n" * 32), False))
    assert _ocsp_status(services, body) is ocsp.OCSPResponseStatus.SUCCESSFUL


def test_bad_ocsp_requests_are_malformed_requests(
    services: Services, seal: x509.Certificate
) -> None:
    good = _ocsp_request(services, seal)
    unknown = x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.61002.9.9"), b"\x05\x00")
    bad = {
        **HOSTILE,
        "trailing byte": good + b"\x00",
        "indefinite length": _indefinite(good),
        "33-octet nonce": _ocsp_request(services, seal, (x509.OCSPNonce(b"n" * 33), False)),
        "unknown critical extension": _ocsp_request(services, seal, (unknown, True)),
    }
    for name, body in bad.items():
        status = _ocsp_status(services, body)
        assert status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST, name
    # An unknown extension that is not critical is ignored, as RFC 6960 §4.4 allows.
    assert (
        _ocsp_status(services, _ocsp_request(services, seal, (unknown, False)))
        is ocsp.OCSPResponseStatus.SUCCESSFUL
    )


def test_ocsp_and_tsa_over_http_are_bounded(services: Services) -> None:
    with TestClient(create_app(services.settings, services=services)) as http:
        too_big = http.post(
            "/pki/tsa",
            content=b"\x30" * 5000,
            headers={"content-type": "application/timestamp-query"},
        )
        assert too_big.status_code == 413
        long_get = http.get("/pki/ocsp/" + "A" * 20_000)
        assert long_get.status_code == 200
        assert (
            ocsp.load_der_ocsp_response(long_get.content).response_status
            is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        )


def _fuzz_one(answer: Callable[[bytes], bytes], body: bytes) -> None:
    # Untimed first: the first answer of a process pays for lazy imports and key loading.
    answer(b"\x30\x00")
    reply = _timed(answer, body)
    assert reply[:1] == b"\x30"


@_FUZZ
@given(body=st.binary(max_size=600))
def test_fuzz_ocsp_requests(services: Services, body: bytes) -> None:
    _fuzz_one(services.revocation.ocsp_response, body)
