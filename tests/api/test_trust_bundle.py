"""The published trust bundle and seal certificates (issue 11, item 8).

The bundle is checked as a third party would: asn1crypto reads the CMS,
cryptography checks the chain to the published root and the signature, and
openssl checks it too; the project's own reader must agree, and refuse a
tampered bundle or one under another root.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.api.conftest import Api
from tests.helpers import DEPARTMENT_A, current_seal
from trustsvc.clock import FixedClock
from trustsvc.departments.seals import revoke_seal
from trustsvc.pki.bundle import (
    InvalidTrustBundleError,
    TrustBundleUnavailableError,
    read_bundle,
    sign_bundle,
)
from trustsvc.pki.home import TRUST_LIST

TSL_SIGNING = x509.ObjectIdentifier("0.4.0.2231.3.0")


def _fetch(api: Api) -> bytes:
    answer = api.http.get("/pki/trust-bundle")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/pkcs7-mime")
    return answer.content


def _root(api: Api) -> x509.Certificate:
    return x509.load_pem_x509_certificate(api.http.get("/pki/certs/root.pem").content)


def _independently_verified(api: Api, bundle: bytes) -> dict[str, Any]:
    """The bundle's document, after checking it with asn1crypto and cryptography only."""
    signed = cms.ContentInfo.load(bundle)["content"]
    assert signed["encap_content_info"]["content_type"].native == "data"
    content: bytes = signed["encap_content_info"]["content"].native
    certificates = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed["certificates"]]
    (signer_info,) = signed["signer_infos"]
    serial = signer_info["sid"].chosen["serial_number"].native
    signer = next(c for c in certificates if c.serial_number == serial)
    issuing = next(c for c in certificates if c.serial_number != serial)
    root = _root(api)
    issuing.verify_directly_issued_by(root)
    signer.verify_directly_issued_by(issuing)
    usage = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [TSL_SIGNING]
    attributes = signer_info["signed_attrs"]
    digest = next(a["values"][0].native for a in attributes if a["type"].native == "message_digest")
    assert digest == hashlib.sha256(content).digest()
    # RFC 5652 §5.4: the signature covers the attributes' DER as a SET OF (tag 0x31).
    encoded = attributes.dump()
    to_be_signed = b"\x31" + encoded[1:]
    public = signer.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signer_info["signature"].native, to_be_signed, ec.ECDSA(hashes.SHA256()))
    document: dict[str, Any] = json.loads(content)
    return document


def test_the_bundle_lists_the_cas_and_seals_signed_by_the_trust_list_signer(api: Api) -> None:
    document = _independently_verified(api, _fetch(api))
    assert document["profile"] == "trustsvc-trust-bundle/1"
    assert isinstance(document["version"], int) and document["version"] >= 3
    assert document["issued_at"].endswith("Z")
    roles = [entry["role"] for entry in document["certificates"]]
    assert roles.count("root_ca") == 1 and roles.count("issuing_ca") == 1
    seal = current_seal(api.services, DEPARTMENT_A)
    der = seal.public_bytes(serialization.Encoding.DER)
    kid = hashlib.sha256(der).digest()[:8].hex()
    (entry,) = [e for e in document["certificates"] if e["kid"] == kid]
    assert entry["role"] == "seal" and entry["status"] == "good"
    assert base64.b64decode(entry["certificate"]) == der
    assert entry["revoked_at"] is None
    for listed in document["certificates"]:
        listed_der = base64.b64decode(listed["certificate"])
        assert hashlib.sha256(listed_der).digest()[:8].hex() == listed["kid"]
        assert hashlib.sha256(listed_der).hexdigest() == listed["sha256"]
        if listed["role"] == "seal":
            # Every seal in the bundle is published by its key id too.
            published = api.http.get(f"/pki/certs/seals/{listed['kid']}.der")
            assert published.status_code == 200 and published.content == listed_der


def test_a_revocation_raises_the_version_and_shows_in_the_bundle(
    api: Api, clock: FixedClock
) -> None:
    before = _independently_verified(api, _fetch(api))
    seal = current_seal(api.services, DEPARTMENT_A)
    kid = hashlib.sha256(seal.public_bytes(serialization.Encoding.DER)).digest()[:8].hex()
    clock.advance(timedelta(hours=2))
    invalid_since = clock.now() - timedelta(hours=1)
    revoke_seal(api.services, DEPARTMENT_A, "key_compromise", invalid_since=invalid_since)
    after = _independently_verified(api, _fetch(api))
    assert after["version"] == before["version"] + 1
    (entry,) = [e for e in after["certificates"] if e["kid"] == kid]
    assert entry["status"] == "revoked" and entry["revocation_reason"] == "key_compromise"
    assert entry["revoked_at"] == clock.now().isoformat(timespec="seconds").replace("+00:00", "Z")
    assert entry["invalidity_date"] == invalid_since.isoformat(timespec="seconds").replace(
        "+00:00", "Z"
    )
    # The project's reader (the offline verifier's) sees the same.
    read = read_bundle(_fetch(api), _root(api), clock.now())
    bundled = read.seal(bytes.fromhex(kid))
    assert read.version == after["version"] and bundled is not None
    assert bundled.revoked_at == clock.now() and bundled.invalidity_date == invalid_since


def test_an_unchanged_bundle_is_served_from_cache(api: Api) -> None:
    assert _fetch(api) == _fetch(api)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_verifies_the_bundle_against_the_root(api: Api, tmp_path: Path) -> None:
    bundle, root = tmp_path / "bundle.p7m", tmp_path / "root.pem"
    bundle.write_bytes(_fetch(api))
    root.write_bytes(api.http.get("/pki/certs/root.pem").content)
    result = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            str(bundle),
            "-CAfile",
            str(root),
            "-purpose",
            "any",
            "-binary",
        ],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["profile"] == "trustsvc-trust-bundle/1"


def test_the_reader_refuses_a_tampered_bundle_or_another_root(api: Api, clock: FixedClock) -> None:
    bundle = _fetch(api)
    marker = b'"profile":"trustsvc-trust-bundle/1"'
    assert marker in bundle
    tampered = bundle.replace(b'"status":"good"', b'"status":"gooD"', 1)
    with pytest.raises(InvalidTrustBundleError, match="does not match"):
        read_bundle(tampered, _root(api), clock.now())
    other_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "another root")])
    other_root = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(other_key.public_key())
        .serial_number(1)
        .not_valid_before(clock.now() - timedelta(days=1))
        .not_valid_after(clock.now() + timedelta(days=1))
        .sign(other_key, hashes.SHA256())
    )
    with pytest.raises(InvalidTrustBundleError, match="not certified"):
        read_bundle(bundle, other_root, clock.now())
    for junk in (b"", b"\x30\x03\x02\x01\x01", bundle[:100]):
        with pytest.raises(InvalidTrustBundleError):
            read_bundle(junk, _root(api), clock.now())


def test_a_home_without_a_signer_says_so(api: Api) -> None:
    pki = api.services.pki
    without = replace(
        pki, certificates={k: v for k, v in pki.certificates.items() if k != TRUST_LIST}
    )
    with pytest.raises(TrustBundleUnavailableError, match="trust-bundle-signer"):
        sign_bundle(without, b"{}")
