from __future__ import annotations

import asyncio
import hashlib
import io
from typing import Any

import pytest
import requests
from asn1crypto import algos, core, tsp
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from reportlab.pdfgen.canvas import Canvas

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A, as_asn1
from trustsvc.bootstrap import build_verifier
from trustsvc.departments.seals import active_seal
from trustsvc.licenses.issuing import IssuingService
from trustsvc.pki.tsa import InProcessTimeStamper, TimestampAuthority, make_timestamper
from trustsvc.seals.sealer import Sealer
from trustsvc.services import Services

TIMESTAMP_QUERY = {"Content-Type": "application/timestamp-query"}


def _request(
    algorithm: str, digest: bytes, nonce: int | None = 12345, cert_req: bool = True, **extra: Any
) -> bytes:
    body: dict[str, Any] = {
        "version": 1,
        "message_imprint": {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": algorithm}),
            "hashed_message": digest,
        },
        "cert_req": cert_req,
        **extra,
    }
    if nonce is not None:
        body["nonce"] = nonce
    return tsp.TimeStampReq(body).dump()


def _post_raw(server: LiveServer, body: bytes) -> bytes:
    reply = requests.post(
        f"{server.base_url}/pki/tsa", data=body, headers=TIMESTAMP_QUERY, timeout=10
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/timestamp-reply"
    return reply.content


def _post(server: LiveServer, body: bytes) -> tsp.TimeStampResp:
    return tsp.TimeStampResp.load(_post_raw(server, body))


def _validate(services: Services, token: Any, digest: bytes) -> TimestampSignatureStatus:
    context = ValidationContext(
        trust_roots=[as_asn1(services.pki.root)],
        allow_fetching=True,
        fetcher_backend=RequestsFetcherBackend(),
    )
    kwargs = asyncio.run(
        validate_tst_signed_data(token["content"], context, lambda _algorithm: digest)
    )
    return TimestampSignatureStatus(**kwargs)


@pytest.mark.parametrize(
    ("algorithm", "hash_function"),
    [("sha256", hashlib.sha256), ("sha384", hashlib.sha384), ("sha512", hashlib.sha512)],
)
def test_token_from_http_validates_to_the_root(
    services: Services, live_server: LiveServer, algorithm: str, hash_function: Any
) -> None:
    digest = hash_function(b"a sealed e-license").digest()
    stamper = HTTPTimeStamper(f"{live_server.base_url}/pki/tsa")
    # pyHanko sends a nonce and checks it comes back.
    token = asyncio.run(stamper.async_timestamp(digest, algorithm))
    status = _validate(services, token, digest)
    assert status.intact and status.valid and status.trusted
    assert status.signing_cert.subject == as_asn1(services.pki.tsa).subject


def test_wrong_imprint_is_not_intact(services: Services, live_server: LiveServer) -> None:
    digest = hashlib.sha256(b"document").digest()
    token = asyncio.run(
        HTTPTimeStamper(f"{live_server.base_url}/pki/tsa").async_timestamp(digest, "sha256")
    )
    other = hashlib.sha256(b"another document").digest()
    assert not _validate(services, token, other).intact


def test_nonce_is_echoed_and_cert_req_honoured(services: Services, live_server: LiveServer) -> None:
    digest = hashlib.sha256(b"x").digest()
    with_certs = _post(live_server, _request("sha256", digest, nonce=987654321, cert_req=True))
    signed = with_certs["time_stamp_token"]["content"]
    assert signed["encap_content_info"]["content"].parsed["nonce"].native == 987654321
    assert len(signed["certificates"]) == 1
    without = _post(live_server, _request("sha256", digest, nonce=None, cert_req=False))
    signed = without["time_stamp_token"]["content"]
    assert signed["certificates"].native is None
    assert signed["encap_content_info"]["content"].parsed["nonce"].native is None


@pytest.mark.parametrize(
    ("body", "failure"),
    [
        (b"not a timestamp request", "bad_data_format"),
        (_request("md5", hashlib.md5(b"x").digest()), "bad_alg"),  # noqa: S324
        (_request("sha256", b"short"), "bad_data_format"),
        (
            _request("sha256", hashlib.sha256(b"x").digest(), req_policy="1.2.3.4"),
            "unaccepted_policy",
        ),
    ],
)
def test_bad_requests_are_rejected_with_a_reason(
    services: Services, live_server: LiveServer, body: bytes, failure: str
) -> None:
    # RFC 3161: a rejection is a TimeStampResp with a status and no token.
    response = core.Sequence.load(_post_raw(live_server, body))
    assert len(response) == 1
    status = tsp.PKIStatusInfo.load(response[0].dump())
    assert status["status"].native == "rejection"
    assert failure in status["fail_info"].native


def test_oversized_request_is_refused_as_problem(
    services: Services, live_server: LiveServer
) -> None:
    reply = requests.post(
        f"{live_server.base_url}/pki/tsa", data=b"0" * 100_000, headers=TIMESTAMP_QUERY, timeout=10
    )
    assert reply.status_code == 413
    assert reply.headers["content-type"] == "application/problem+json"


def test_in_process_timestamper_matches_the_http_one(services: Services) -> None:
    stamper = make_timestamper(None, services.tsa)
    assert isinstance(stamper, InProcessTimeStamper)
    digest = hashlib.sha256(b"in process").digest()
    token = asyncio.run(stamper.async_timestamp(digest, "sha256"))
    # No server runs here: the TSA certificate's revocation (root CRL) cannot be
    # fetched, so check integrity and the signer, not trust.
    context = ValidationContext(trust_roots=[as_asn1(services.pki.root)])
    kwargs = asyncio.run(validate_tst_signed_data(token["content"], context, lambda _a: digest))
    assert kwargs["intact"] and kwargs["valid"]


def test_external_tsa_url_selects_the_http_timestamper(services: Services) -> None:
    stamper = make_timestamper("https://tsa.example.org/tsr", services.tsa)
    assert isinstance(stamper, HTTPTimeStamper)


@pytest.mark.parametrize("nonce", [None, 1, 2**63 + 12345])
def test_tokens_are_canonical_der(services: Services, nonce: int | None) -> None:
    reply = services.tsa.respond(_request("sha384", hashlib.sha384(b"x").digest(), nonce=nonce))
    # Parsed and re-encoded from scratch by asn1crypto, every byte must come back the same.
    parsed = tsp.TimeStampResp.load(reply)
    assert parsed.dump(force=True) == reply
    token = parsed["time_stamp_token"]
    info = token["content"]["encap_content_info"]["content"].parsed
    assert info["nonce"].native == nonce
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha384(b"x").digest()
    attributes = token["content"]["signer_infos"][0]["signed_attrs"]
    encoded = [a.dump() for a in attributes]
    assert encoded == sorted(encoded)  # DER SET OF order


def test_tokens_carry_the_operator_tsa_policy(services: Services) -> None:
    """Under TRUSTSVC_OID_ARC, never the private enterprise number that was not ours."""
    response = tsp.TimeStampResp.load(
        services.tsa.respond(_request("sha256", hashlib.sha256(b"x").digest()))
    )
    policy = (
        response["time_stamp_token"]["content"]["encap_content_info"]["content"]
        .parsed["policy"]
        .dotted
    )
    assert policy == services.settings.tsa_policy == "1.3.6.1.4.1.32473.2.1"
    assert not policy.startswith("1.3.6.1.4.1.61002")


def test_documents_timestamped_under_the_old_policy_verify_as_before(
    services: Services,
    licenses: IssuingService,
) -> None:
    """Tokens made before carry 1.3.6.1.4.1.61002.1.1; verification does not judge the policy."""
    services = services
    material = active_seal(services, DEPARTMENT_A).material
    reports = []
    for policy in ("1.3.6.1.4.1.61002.1.1", services.settings.tsa_policy):
        authority = TimestampAuthority(
            services.pki.tsa, services.pki.key("tsa"), services.clock, policy
        )
        sealer = Sealer(
            make_timestamper(None, authority),
            services.revocation,
            services.pki.issuing,
            services.pki.tsa,
        )
        sealed = sealer.seal(_page(), material, (300, 100, 420, 220), None, policy).pdf
        reports.append(build_verifier(services, allow_fetching=False).verify_pdf(sealed))
    old, new = reports
    assert (old.verdict, old.reasons) == (new.verdict, new.reasons)
    assert old.facts.timestamp_authority
    assert not any("timestamp" in reason.code for reason in old.reasons)


def _page() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(100, 700, "timestamped")
    canvas.save()
    return buffer.getvalue()
