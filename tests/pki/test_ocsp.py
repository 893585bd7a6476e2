from __future__ import annotations

import base64

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A, current_seal
from trustsvc.departments.registry import add_department
from trustsvc.departments.seals import revoke_seal
from trustsvc.services import Services

OCSP_REQUEST = {"Content-Type": "application/ocsp-request"}


def _ask(server: LiveServer, body: bytes) -> ocsp.OCSPResponse:
    reply = requests.post(
        f"{server.base_url}/pki/ocsp", data=body, headers=OCSP_REQUEST, timeout=10
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(reply.content)


def _request_for(
    cert: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None
) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


@pytest.fixture
def seal(services: Services) -> x509.Certificate:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
    return current_seal(services, DEPARTMENT_A)


def test_good_then_revoked_with_reason_and_time(
    services: Services, live_server: LiveServer, seal: x509.Certificate
) -> None:
    response = _ask(
        live_server, _request_for(seal, services.pki.issuing, nonce=b"0123456789abcdef")
    )
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == seal.serial_number
    nonce = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    assert nonce == b"0123456789abcdef"
    # Signed by the delegated responder, whose key really made the signature.
    responder = services.pki.ocsp
    assert response.certificates[0] == responder
    responder_key = responder.public_key()
    assert isinstance(responder_key, ec.EllipticCurvePublicKey)
    responder_key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))

    revoke_seal(services, DEPARTMENT_A, "key_compromise")
    response = _ask(live_server, _request_for(seal, services.pki.issuing))
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_reason is x509.ReasonFlags.key_compromise
    assert response.revocation_time_utc is not None


def test_unknown_serial_is_unknown(
    services: Services, live_server: LiveServer, seal: x509.Certificate
) -> None:
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            issuer_name_hash=_request_parts(seal, services)[0],
            issuer_key_hash=_request_parts(seal, services)[1],
            serial_number=424242,
            algorithm=hashes.SHA1(),  # noqa: S303
        )
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    assert _ask(live_server, request).certificate_status is ocsp.OCSPCertStatus.UNKNOWN


def _request_parts(seal: x509.Certificate, services: Services) -> tuple[bytes, bytes]:
    parsed = ocsp.load_der_ocsp_request(_request_for(seal, services.pki.issuing))
    return parsed.issuer_name_hash, parsed.issuer_key_hash


def test_requests_for_another_issuer_are_unauthorized(
    services: Services, live_server: LiveServer
) -> None:
    # The TSA certificate is the root's: its status is in the root CRL, not in OCSP.
    response = _ask(live_server, _request_for(services.pki.tsa, services.pki.root))
    assert response.response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_malformed_request(services: Services, live_server: LiveServer) -> None:
    response = _ask(live_server, b"\x30\x03garbage")
    assert response.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_get_form(services: Services, live_server: LiveServer, seal: x509.Certificate) -> None:
    encoded = base64.b64encode(_request_for(seal, services.pki.issuing)).decode()
    reply = requests.get(f"{live_server.base_url}/pki/ocsp/{encoded}", timeout=10)
    assert ocsp.load_der_ocsp_response(reply.content).certificate_status is ocsp.OCSPCertStatus.GOOD


def test_crl_numbers_grow_and_list_revocations(
    services: Services, live_server: LiveServer, seal: x509.Certificate
) -> None:
    def fetch() -> x509.CertificateRevocationList:
        reply = requests.get(f"{live_server.base_url}/pki/crl/issuing", timeout=10)
        assert reply.headers["content-type"] == "application/pkix-crl"
        return x509.load_der_x509_crl(reply.content)

    first = fetch()
    assert fetch().public_bytes(serialization.Encoding.DER) == first.public_bytes(
        serialization.Encoding.DER
    )
    revoke_seal(services, DEPARTMENT_A, "cessation_of_operation")
    second = fetch()
    number = lambda crl: crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number  # noqa: E731
    assert number(second) == number(first) + 1
    entry = second.get_revoked_certificate_by_serial_number(seal.serial_number)
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        is x509.ReasonFlags.cessation_of_operation
    )
    assert second.is_signature_valid(services.pki.issuing.public_key())  # type: ignore[arg-type]
    assert second.next_update_utc is not None and second.next_update_utc > second.last_update_utc
