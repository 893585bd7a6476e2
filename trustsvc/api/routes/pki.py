"""Public PKI endpoints: RFC 3161 timestamps, RFC 6960 OCSP, CRLs, CA certificates,
every seal certificate by the key id tokens name it with, and the signed trust bundle.

These carry no personal data and need no key: relying parties and validators
fetch them from the URLs written into the certificates.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from trustsvc.api.deps import PkiServicesDep, read_bounded_body, state_of
from trustsvc.api.errors import problem_responses
from trustsvc.errors import NotFoundError
from trustsvc.pki.bundle import MEDIA_TYPE as TRUST_BUNDLE_MEDIA_TYPE
from trustsvc.pki.home import PUBLISHED, published_seal_certificate
from trustsvc.pki.revocation import MAX_OCSP_REQUEST_BYTES
from trustsvc.pki.tsa import MAX_REQUEST_BYTES

router = APIRouter(prefix="/pki", tags=["pki"], responses=problem_responses(422, 429))

#: A TimeStampReq or OCSPRequest is a few hundred bytes; anything far larger is not one.
_REQUEST_LIMIT = max(MAX_REQUEST_BYTES, MAX_OCSP_REQUEST_BYTES)
#: A seal certificate's file name: its token key id in lower-case hex, and the encoding.
_SEAL_FILE = re.compile(r"([0-9a-f]{16})\.(pem|der)")
#: Base64 of the largest request, for the GET form.
_ENCODED_LIMIT = 4 * ((MAX_OCSP_REQUEST_BYTES + 2) // 3)


def _binary_body(media_type: str) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads its DER body itself."""
    schema = {"type": "string", "format": "binary"}
    return {"requestBody": {"required": True, "content": {media_type: {"schema": schema}}}}


@router.post(
    "/tsa",
    response_class=Response,
    responses={200: {"content": {"application/timestamp-reply": {}}}, **problem_responses(413)},
    summary="RFC 3161 timestamp request (application/timestamp-query)",
    openapi_extra=_binary_body("application/timestamp-query"),
)
async def timestamp(request: Request, services: PkiServicesDep) -> Response:
    body = await read_bounded_body(request, _REQUEST_LIMIT)
    reply = await run_in_threadpool(services.tsa.respond, body)
    return Response(reply, media_type="application/timestamp-reply")


@router.post(
    "/ocsp",
    response_class=Response,
    responses={200: {"content": {"application/ocsp-response": {}}}, **problem_responses(413)},
    summary="RFC 6960 OCSP request (application/ocsp-request)",
    openapi_extra=_binary_body("application/ocsp-request"),
)
async def ocsp_post(request: Request, services: PkiServicesDep) -> Response:
    body = await read_bounded_body(request, _REQUEST_LIMIT)
    reply = await run_in_threadpool(services.revocation.ocsp_response, body)
    return Response(reply, media_type="application/ocsp-response")


@router.get(
    "/ocsp/{encoded:path}",
    response_class=Response,
    # 404: a path that is not base64 text (a line break, say) matches no route.
    responses={200: {"content": {"application/ocsp-response": {}}}, **problem_responses(404)},
    summary="RFC 6960 Appendix A.1 OCSP request by GET (base64 of the DER request)",
)
def ocsp_get(encoded: str, services: PkiServicesDep) -> Response:
    # Longer than the largest request's base64: answered malformedRequest unread.
    body = b""
    if len(encoded) <= _ENCODED_LIMIT:
        try:
            body = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            body = b""
    reply = services.revocation.ocsp_response(body)
    return Response(reply, media_type="application/ocsp-response")


@router.get(
    "/crl/{ca}",
    response_class=Response,
    responses={200: {"content": {"application/pkix-crl": {}}}, **problem_responses(404)},
    summary="The current CRL of a service CA (root or issuing)",
)
def crl(ca: str, services: PkiServicesDep) -> Response:
    return Response(
        services.revocation.current_crl(ca.removesuffix(".crl")),
        media_type="application/pkix-crl",
    )


@router.get(
    "/certs/{filename}",
    response_class=Response,
    responses={
        200: {"content": {"application/pkix-cert": {}, "application/x-pem-file": {}}},
        **problem_responses(404),
    },
    summary="A certificate of the service PKI, as name.pem or name.der",
)
def certificate(filename: str, services: PkiServicesDep) -> Response:
    name, _, extension = filename.rpartition(".")
    if name not in PUBLISHED or extension not in ("pem", "der", "cer", "crt"):
        raise NotFoundError(
            f"no certificate {filename!r}; published are "
            + ", ".join(f"{n}.pem" for n in PUBLISHED)
        )
    if name == "ocsp":
        # The responder certificate this process signs with now (it is renewed).
        responder, _key = services.revocation.responder.current()
        encoding = serialization.Encoding.PEM if extension == "pem" else serialization.Encoding.DER
        body = responder.public_bytes(encoding)
    elif extension == "pem":
        body = services.pki.pem(name)
    else:
        body = services.pki.der(name)
    media_type = "application/x-pem-file" if extension == "pem" else "application/pkix-cert"
    return Response(body, media_type=media_type)


@router.get(
    "/certs/seals/{filename}",
    response_class=Response,
    responses={
        200: {"content": {"application/pkix-cert": {}, "application/x-pem-file": {}}},
        **problem_responses(404),
    },
    summary="A seal certificate, named by the key id its tokens carry (<kid hex>.pem or .der)",
)
def seal_certificate(filename: str, services: PkiServicesDep) -> Response:
    match = _SEAL_FILE.fullmatch(filename)
    certificate = (
        published_seal_certificate(services.settings.home, bytes.fromhex(match[1]))
        if match
        else None
    )
    if match is None or certificate is None:
        raise NotFoundError(
            f"no seal certificate {filename[:40]!r}; seal certificates are published as "
            "<key id: 16 lower-case hex digits>.pem or .der"
        )
    if match[2] == "pem":
        return Response(
            certificate.public_bytes(serialization.Encoding.PEM),
            media_type="application/x-pem-file",
        )
    return Response(
        certificate.public_bytes(serialization.Encoding.DER), media_type="application/pkix-cert"
    )


@router.get(
    "/trust-bundle",
    response_class=Response,
    responses={
        200: {"content": {"application/pkcs7-mime": {}}},
        **problem_responses(503),
    },
    summary="The signed trust bundle: CAs and every seal certificate with its status "
    "(CMS SignedData over JSON, docs/trust-bundle.md)",
)
def trust_bundle(request: Request, services: PkiServicesDep) -> Response:
    signed = state_of(request).trust_bundles.current(
        services.database, services.pki, services.clock.now(), services.settings.public_base_url
    )
    return Response(
        signed,
        media_type=TRUST_BUNDLE_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="trust-bundle.p7m"'},
    )
