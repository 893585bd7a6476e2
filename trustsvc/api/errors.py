"""The one place where errors become HTTP answers: RFC 9457 problem+json.

Domain errors carry a stable code and a message but know nothing of HTTP:
``HTTP_STATUS`` below gives every error class its status (the problem's
``type`` is the code under ``_TYPE_BASE``). Malformed requests are 4xx;
anything unexpected is a 500 whose body says nothing of the internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from trustsvc.audit.log.publication import QuorumNotMetError
from trustsvc.audit.log.witnesses import WitnessError
from trustsvc.departments.seals import SealImportError, SealWithdrawnError
from trustsvc.errors import (
    AmbiguousLicenseNumberError,
    AuthenticationError,
    BodyTooLargeError,
    CommandLineOnlyError,
    ConfigurationError,
    ConflictError,
    CsrfRefusedError,
    DatabaseUnavailableError,
    DocumentStoreFullError,
    DocumentStoreUnavailableError,
    DuplicateDepartmentError,
    DuplicateLicenseError,
    FontNotFoundError,
    FontUnusableError,
    ForbiddenError,
    GrantRefusedError,
    HomeAlreadyInitialisedError,
    HomeNotInitialisedError,
    InvalidCreditCodeError,
    InvalidIdentifierError,
    InvalidInputError,
    InvalidLicenseDataError,
    KeyStoreError,
    LicenseTextTooLongError,
    NotFoundError,
    PkiError,
    PurposeRefusedError,
    RateLimitedError,
    RoleRefusedError,
    SealUnavailableError,
    SignInRequiredError,
    TimestampError,
    TimestampUnavailableError,
    TrustServiceError,
    TypeNotEntitledError,
    UnsupportedCharacterError,
    UpstreamUnavailableError,
    WrongPassphraseError,
)
from trustsvc.holders.grants import GrantFieldError
from trustsvc.licenses.approvals import ApprovalDocumentError
from trustsvc.pki.bundle import InvalidTrustBundleError, TrustBundleUnavailableError
from trustsvc.seals.sealer import SealingError, SealNotInStandingError
from trustsvc.tlog.errors import FormatError, ProofError, SignatureError, TlogError
from trustsvc.tlog.witness import (
    InconsistentCheckpointError,
    UnknownLogError,
    WitnessBadRequestError,
    WitnessConflictError,
    WitnessRefusal,
    WitnessUnauthenticatedError,
)
from trustsvc.tlog.witness_client import WitnessRefusedError, WitnessUnavailableError
from trustsvc.tokens.format import InvalidTokenError

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://trustsvc.invalid/problems/"
log = logging.getLogger("trustsvc.api")


#: The JSON Schema of a problem+json body, as the OpenAPI document declares it.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "code", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "code": {"type": "string", "description": "Stable machine-readable code"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "What is wrong with each part of a malformed request (422)",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}
_PROBLEMS: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("The request body could not be parsed", {}),
    401: (
        "No API key or holder session, or one that is unknown, revoked or expired",
        {"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    403: ("Known, but not allowed: role, department, ownership or purpose", {}),
    404: ("Not found", {}),
    409: ("In conflict with the current state (status, idempotency key, client)", {}),
    413: ("The request body is too large", {}),
    422: ("The request is not valid", {}),
    429: (
        "Rate limit reached",
        {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
    ),
    502: ("A service this one relies on (the identity provider) did not answer", {}),
    503: ("Not ready, or a service it relies on (TSA, document store) is unavailable", {}),
    507: ("The document store is full", {}),
}
#: What a route behind an API key may answer besides its own outcomes.
KEY_PROBLEMS = (401, 403, 422, 429)

#: The HTTP status of every domain error, named class by class (a test holds that no
#: class of ``TrustServiceError`` is left out, so a new one is given its status here,
#: on purpose, rather than inheriting one by accident).
HTTP_STATUS: dict[type[TrustServiceError], int] = {
    TrustServiceError: 500,
    # The service's own set-up or machinery: nothing the caller can fix.
    ConfigurationError: 500,
    HomeNotInitialisedError: 500,
    HomeAlreadyInitialisedError: 500,
    FontNotFoundError: 500,
    FontUnusableError: 500,
    KeyStoreError: 500,
    WrongPassphraseError: 500,
    PkiError: 500,
    TimestampError: 500,
    SealingError: 500,
    # The request breaks a rule.
    InvalidInputError: 422,
    BodyTooLargeError: 413,
    InvalidCreditCodeError: 422,
    InvalidIdentifierError: 422,
    InvalidLicenseDataError: 422,
    GrantFieldError: 422,
    ApprovalDocumentError: 422,
    UnsupportedCharacterError: 422,
    LicenseTextTooLongError: 422,
    InvalidTokenError: 422,
    InvalidTrustBundleError: 422,
    NotFoundError: 404,
    # In conflict with what exists (a seal revoked since it was chosen included).
    ConflictError: 409,
    DuplicateDepartmentError: 409,
    DuplicateLicenseError: 409,
    AmbiguousLicenseNumberError: 409,
    SealUnavailableError: 409,
    SealNotInStandingError: 409,
    SealWithdrawnError: 409,
    SealImportError: 422,
    AuthenticationError: 401,
    ForbiddenError: 403,
    PurposeRefusedError: 403,
    TypeNotEntitledError: 403,
    CommandLineOnlyError: 403,
    GrantRefusedError: 403,
    CsrfRefusedError: 403,
    SignInRequiredError: 401,
    RoleRefusedError: 403,
    RateLimitedError: 429,
    # Something this service relies on: the caller may retry.
    UpstreamUnavailableError: 502,
    TimestampUnavailableError: 503,
    DatabaseUnavailableError: 503,
    TrustBundleUnavailableError: 503,
    DocumentStoreFullError: 507,
    DocumentStoreUnavailableError: 503,
    # The transparency log (tlog): formats and proofs; the witness's answers are the
    # statuses C2SP tlog-witness names; a witness the log asks failing is upstream.
    TlogError: 500,
    FormatError: 422,
    ProofError: 422,
    SignatureError: 422,
    WitnessRefusal: 400,
    WitnessBadRequestError: 400,
    WitnessUnauthenticatedError: 403,
    UnknownLogError: 404,
    WitnessConflictError: 409,
    InconsistentCheckpointError: 422,
    WitnessRefusedError: 502,
    WitnessUnavailableError: 502,
    # The log's own publication: a witness it asks, and the quorum of them.
    WitnessError: 502,
    QuorumNotMetError: 503,
}


def http_status(error: TrustServiceError) -> int:
    """The status the API answers ``error`` with: its class's, else its nearest base's."""
    for cls in type(error).__mro__:
        status = HTTP_STATUS.get(cls)
        if status is not None:
            return status
    return 500  # pragma: no cover - TrustServiceError itself is in the table


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring the problem+json answers of ``statuses``."""
    declared: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, headers = _PROBLEMS[status]
        declared[status] = {
            "description": description,
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
        }
        if headers:
            declared[status]["headers"] = headers
    return declared


def problem(
    status: int, code: str, title: str, detail: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": _TYPE_BASE + code,
        "code": code,
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TrustServiceError)
    status = http_status(exc)
    if status >= 500 and not isinstance(exc, UpstreamUnavailableError):
        log.error("service error: %s", exc.message)
        return problem(status, exc.code, "The service could not complete the request")
    extra: dict[str, str] = {}
    if isinstance(exc, DuplicateLicenseError):
        extra = {"identifier": exc.identifier, "license_number": exc.license_number}
    response = problem(status, exc.code, exc.message, **extra)
    if isinstance(exc, AuthenticationError):
        response.headers["WWW-Authenticate"] = 'Bearer realm="trustsvc"'
    if isinstance(exc, RateLimitedError):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        400: "bad-request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
    }.get(exc.status_code, "http-error")
    return problem(exc.status_code, code, str(exc.detail))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    return problem(422, "invalid-request", "The request is not valid", errors=errors)


#: What a client is told when the database is out of reach (the driver's words are logged).
DATABASE_DOWN = "the library's database cannot be reached or refused the work; try again shortly"


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    """An outage of the database (refused or lost connections, a lock not granted, a full
    disk): 503 naming what is down, never a 500 that reads like a bug."""
    log.error("database unavailable: %s", exc)
    return problem(503, DatabaseUnavailableError.code, DATABASE_DOWN)


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "internal-error", "The service could not complete the request")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TrustServiceError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
