"""A third party verifies tokens without trustsvc's code (issue 11, item 10).

pycose checks the COSE_Sign1 signature with the key of the seal certificate
fetched from ``/pki/certs/seals/{kid}.pem``; cryptography checks that the
certificate chains to the published root; cbor2 reads the claims; the content
hash is recomputed from the rule in docs/token.md. Nothing here imports
``trustsvc.verification``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date, timedelta
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pycose.keys import CoseKey
from pycose.messages import Sign1Message

from tests.api.conftest import Api
from tests.helpers import DEPARTMENT_A
from trustsvc.holders.presentation import present
from trustsvc.licenses import production as license_service
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type

TYPE = "application/x.trustsvc-token;v=3"
IAT, EXP, CTI = 6, 4, 7
IDENTIFIER, VALID_FROM, VALID_UNTIL, CONTENT_HASH, DOCUMENT_HASH = range(-65537, -65542, -1)
EPOCH = date(1970, 1, 1)


def _issue(
    api: Api, monkeypatch: pytest.MonkeyPatch, type_key: str
) -> tuple[str, str, dict[str, str]]:
    """A license, the token printed on it, and the data it was issued with."""
    printed: list[str] = []
    sign = license_service.sign_token

    def recording(*args: Any) -> str:
        token = sign(*args)
        printed.append(token)
        return token

    monkeypatch.setattr(license_service, "sign_token", recording)
    data = dict(example_data(get_type(api.licenses.types, type_key)))
    view = api.licenses.issue(IssueRequest(DEPARTMENT_A, type_key, data)).license
    return view.identifier, printed[-1], data


def _message(token: str) -> Sign1Message:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    tagged = cbor2.loads(raw)
    assert tagged.tag == 18  # COSE_Sign1
    # cbor2 6 reads a tagged array as a tuple and the map in it as a frozen dict, which
    # pycose 1.1's ``decode`` does not expect; its own constructor takes the four parts.
    protected, unprotected, payload, signature = tagged.value
    message = Sign1Message.from_cose_obj(
        [protected, dict(unprotected), payload, signature], allow_unknown_attributes=True
    )
    assert isinstance(message, Sign1Message)
    return message


def _published_key(api: Api, kid: bytes) -> CoseKey:
    """The seal's key, from its published certificate, after checking the chain to the root."""
    answer = api.http.get(f"/pki/certs/seals/{kid.hex()}.pem")
    assert answer.status_code == 200, answer.text
    certificate = x509.load_pem_x509_certificate(answer.content)
    der = api.http.get(f"/pki/certs/seals/{kid.hex()}.der").content
    assert der == certificate.public_bytes(serialization.Encoding.DER)
    assert hashlib.sha256(der).digest()[:8] == kid
    issuing = x509.load_pem_x509_certificate(api.http.get("/pki/certs/issuing.pem").content)
    root = x509.load_pem_x509_certificate(api.http.get("/pki/certs/root.pem").content)
    certificate.verify_directly_issued_by(issuing)
    issuing.verify_directly_issued_by(root)
    public = certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return CoseKey.from_pem_public_key(public.decode())


def _verified_claims(api: Api, token: str) -> dict[int, Any]:
    message = _message(token)
    protected = message.phdr_encoded
    header = cbor2.loads(protected)
    assert set(header) == {1, 4, 16} and header[16] == TYPE and header[1] == -7
    kid = header[4]
    message.key = _published_key(api, kid)
    assert message.verify_signature()
    claims: dict[int, Any] = cbor2.loads(message.payload)
    return claims


def _documented_content_hash(identifier: str, type_code: str, data: dict[str, str]) -> bytes:
    """docs/token.md, "Content hash": what the license shows, JCS, SHA-256, 16 bytes."""
    shown = {k: v for k, v in data.items() if k not in ("holder_id", "holder_id_type")}
    shown.update(identifier=identifier, type=type_code)
    canonical = json.dumps(shown, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).digest()[:16]


@pytest.mark.parametrize("type_key", ["business-license", "real-estate-certificate"])
def test_pycose_verifies_a_printed_token_from_the_published_certificate(
    api: Api, monkeypatch: pytest.MonkeyPatch, type_key: str
) -> None:
    identifier, token, data = _issue(api, monkeypatch, type_key)
    claims = _verified_claims(api, token)
    assert set(claims) <= {IAT, IDENTIFIER, VALID_FROM, VALID_UNTIL, CONTENT_HASH}
    assert claims[IDENTIFIER] == identifier
    license_type = get_type(api.licenses.types, type_key)
    assert EPOCH + timedelta(days=claims[VALID_FROM]) == date.fromisoformat(data["valid_from"])
    if "valid_until" in data:
        assert EPOCH + timedelta(days=claims[VALID_UNTIL]) == date.fromisoformat(
            data["valid_until"]
        )
    assert abs(claims[IAT] - api.services.clock.now().timestamp()) < 5
    assert claims[CONTENT_HASH] == _documented_content_hash(identifier, license_type.code, data)


def test_pycose_refuses_a_token_whose_claims_were_changed(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: another content hash under the same signature does not verify."""
    _identifier, token, _data = _issue(api, monkeypatch, "business-license")
    message = _message(token)
    claims = cbor2.loads(message.payload)
    claims[CONTENT_HASH] = bytes(16)
    message.payload = cbor2.dumps(claims, canonical=True)
    message.key = _published_key(api, cbor2.loads(message.phdr_encoded)[4])
    assert not message.verify_signature()


def test_pycose_verifies_a_presentation_code_and_its_document_hash(api: Api) -> None:
    identifier = api.issue()
    code = present(api.services, identifier, actor="test", lifetime=timedelta(minutes=10))
    claims = _verified_claims(api, code.token)
    assert claims[IDENTIFIER] == identifier
    assert claims[EXP] == int(code.expires_at.timestamp()) and len(claims[CTI]) == 16
    pdf = api.licenses.document(identifier)
    assert claims[DOCUMENT_HASH] == hashlib.sha256(pdf).digest()[:16]


def test_an_unknown_or_malformed_seal_file_name_is_404(api: Api) -> None:
    for name in ("0000000000000000.pem", "ABCDEF0123456789.pem", "..%2Froot.pem", "x.der", "1.crt"):
        answer = api.http.get(f"/pki/certs/seals/{name}")
        assert answer.status_code == 404, name
        assert answer.headers["content-type"].startswith("application/problem+json")
