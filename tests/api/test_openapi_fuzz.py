"""The app against its own OpenAPI document, with Schemathesis generating the requests.

Every operation is called as the caller it is meant for (an issuer key of
department A, a verifier key, an admin key, the holder's session), so the
requests get past authentication and reach the handlers; each gets valid
data (positive) and, where it has an input to spoil, invalid data
(negative). Whatever is sent, the app must not fail (no 5xx) and must
answer as it documents: a declared status, a declared content type, the
declared headers, a body that matches the declared schema.

Binary bodies (a sealed PDF, a timestamp query, an OCSP request) start from
a real one and are changed a byte, cut short, or replaced by noise, so the
parsers behind them are fuzzed too; a third pass names things that exist
(a license, a job, a client) so handlers get past "not found". Generation is
seeded and bounded: a failure is reproducible, and a database takes well under
a minute. Each database has a seed of its own: the app code above the database
is the same, so the two runs together try twice the inputs of one instead of
the same inputs twice. (Registering those media types is global to
Schemathesis; each run registers its own.)
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from asn1crypto import algos, tsp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.python.asgi import ASGIClient
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import PURPOSES, Api
from tests.helpers import DEPARTMENT_A, current_seal
from trustsvc.holders.presentation import present
from trustsvc.sharing.clients import add_client

SESSION_COOKIE = "trustsvc_session"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Who calls the operations of each tag ("anyone" sends no credential).
CALLER_BY_TAG = {
    "health": "anyone",
    "pki": "anyone",
    "public": "anyone",
    "issuers": "issuer_a",
    "verifiers": "verifier",
    "data sharing": "verifier",
    "operators": "admin",
    "holders": "holder",
    "log": "anyone",
}
#: The sign-in routes carry the holders' tag but are for anyone.
SIGN_IN_PREFIX = "/auth/"
#: Examples per operation and generation mode, on each database (each with its own seed).
EXAMPLES = 13
SEED_BY_DATABASE = {"sqlite": 3161, "postgres": 6960}
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=False,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
CONFIG = SchemathesisConfig.from_dict(
    {
        # Examples and fuzzing only: the coverage phase is unbounded by max_examples.
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        # The callers' credentials stay as given; test_authorization covers their absence.
        "generation": {"deterministic": True, "with-security-parameters": False},
    }
)


@pytest.fixture
def sessions(api: Api) -> Iterator[dict[str, ASGIClient]]:
    """A client of the running app per caller.

    The API clients behind the keys get names no source file spells: Hypothesis
    draws text from the project's string literals, and the fuzzer must not
    revoke or rotate the keys it is calling with. Schemathesis' own ASGI client
    would start the app's lifespan a second time (the fixture's TestClient
    already runs it); a client that is not entered only sends requests.
    """
    holder_cookie = api.holder().cookies.get(SESSION_COOKIE)
    assert holder_cookie
    made: dict[str, ASGIClient] = {}
    for caller, role, options in (
        ("anyone", None, {}),
        ("issuer_a", "issuer", {"department_code": DEPARTMENT_A}),
        ("verifier", "verifier", {"purposes": PURPOSES}),
        ("admin", "admin", {}),
        ("holder", None, {}),
    ):
        client = ASGIClient(api.http.app, base_url=str(api.http.base_url))
        if caller == "holder":
            client.headers["Cookie"] = f"{SESSION_COOKIE}={holder_cookie}"
        elif role is not None:
            _info, key = add_client(api.services, secrets.token_hex(8), role, **options)
            client.headers["Authorization"] = f"Bearer {key.secret}"
        made[caller] = client
    yield made
    for client in made.values():
        client.close()


def caller_of(path: str, tags: list[str] | None) -> str:
    if path.startswith(SIGN_IN_PREFIX):
        return "anyone"
    [tag] = tags or ["untagged"]
    return CALLER_BY_TAG[tag]


def variations(real: bytes) -> st.SearchStrategy[bytes]:
    """``real`` as it is, with one byte changed, cut short, or bytes of any kind."""
    position = st.integers(min_value=0, max_value=len(real) - 1)

    def flip(change: tuple[int, int]) -> bytes:
        at, mask = change
        return real[:at] + bytes([real[at] ^ mask]) + real[at + 1 :]

    return st.one_of(
        st.just(real),
        st.tuples(position, st.integers(1, 255)).map(flip),
        position.map(lambda cut: real[:cut]),
        st.binary(max_size=2048),
    )


def register_bodies(api: Api) -> None:
    """Real bodies to start from for the media types the app reads itself."""
    pdf = api.licenses.document(api.issue())
    seal = current_seal(api.services, DEPARTMENT_A)
    ocsp_request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(seal, api.services.pki.issuing, hashes.SHA256())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    timestamp_query = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": hashlib.sha256(b"fuzz").digest(),
            },
            "nonce": 7,
            "cert_req": True,
        }
    ).dump()
    schemathesis.openapi.media_type("application/pdf", variations(pdf))
    schemathesis.openapi.media_type("application/ocsp-request", variations(ocsp_request))
    schemathesis.openapi.media_type("application/timestamp-query", variations(timestamp_query))


class Known:
    """Path parameters that name things that exist, so handlers get past "not found"."""

    def __init__(self, api: Api) -> None:
        self.api = api
        made = api.http.post(
            "/api/v1/licenses/batch",
            json={"type": "real-estate-certificate", "rows": [{}]},
            headers={**api.as_("issuer_a"), "Idempotency-Key": "fuzz-batch"},
        )
        assert made.status_code == 202, made.text
        self.fixed = {
            "job_id": made.json()["id"],
            "name": "fuzz-target",
            "filename": "issuing.pem",
            "ca": "issuing.crl",
        }
        add_client(api.services, "fuzz-target", "verifier", purposes=["核查"])

    def for_operation(self, operation: Any) -> dict[str, str] | None:
        """Real values for the operation's path parameters; a license of its own if it needs one."""
        names = {parameter.name for parameter in operation.path_parameters}
        if not names or names - {*self.fixed, "identifier", "token"}:
            return None
        values = {name: self.fixed[name] for name in names & set(self.fixed)}
        if "identifier" in names:
            values["identifier"] = self.api.issue()
        if "token" in names:
            identifier = self.api.issue()
            values["token"] = present(self.api.services, identifier, actor="fuzz").token
        return values


def fuzz(strategy: Any, session: ASGIClient, base_url: str, seeded: int) -> None:
    """Send what ``strategy`` generates as ``session``'s caller and check every answer."""

    @seed(seeded)
    @FUZZ
    @given(case=strategy)
    def call(case: Any) -> None:
        case.call_and_validate(
            session=session,
            base_url=base_url,
            headers=dict(session.headers),
            checks=CHECKS,
            allow_redirects=False,
        )

    call()


def test_every_operation_answers_as_documented(api: Api, sessions: dict[str, ASGIClient]) -> None:
    seeded = SEED_BY_DATABASE[
        "sqlite" if api.services.settings.database_url is None else "postgres"
    ]
    register_bodies(api)
    known = Known(api)
    document = api.http.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document, config=CONFIG)
    base_url = str(api.http.base_url)
    failures: list[str] = []
    runs: Counter[str] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        session = sessions[caller_of(operation.path, operation.tags)]
        passes: list[tuple[str, Any]] = [
            ("positive", operation.as_strategy(GenerationMode.POSITIVE)),
            ("negative", operation.as_strategy(GenerationMode.NEGATIVE)),
        ]
        path_parameters = known.for_operation(operation)
        if path_parameters is not None:
            strategy = operation.as_strategy(path_parameters=path_parameters)
            passes.append(("known", strategy))
        for name, strategy in passes:
            try:
                fuzz(strategy, session, base_url, seeded)
            except Unsatisfiable:
                # Nothing to spoil (no input, or only unconstrained text): valid data only.
                if name != "negative":
                    failures.append(f"{operation.label} ({name}): no request could be made")
                continue
            except (AssertionError, FailureGroup) as exc:
                failures.append(f"{operation.label} ({name}): {exc}")
            except Exception as exc:  # noqa: BLE001 (an app error the ASGI client re-raised)
                failures.append(f"{operation.label} ({name}): {type(exc).__name__}: {exc}")
            runs[name] += 1
    served = sum(len(methods) for methods in document["paths"].values())
    assert runs["positive"] == served > 40
    assert runs["negative"] > 15 and runs["known"] > 15
    assert not failures, f"{len(failures)} failure(s):\n\n" + "\n\n".join(failures)


@pytest.mark.parametrize(
    ("caller", "method", "url", "body"),
    [
        ("verifier", "GET", "/api/v1/lookup?holder_id=0&type=%00", None),
        ("verifier", "GET", "/api/v1/holders/licenses?holder_id=0&purpose=a%00b", None),
        ("admin", "GET", "/api/v1/access-events?client=%00", None),
        ("admin", "GET", "/api/v1/clients/a%00b", None),
        ("issuer_a", "GET", "/api/v1/licenses/%00", None),
        ("anyone", "GET", "/public/licenses/%00/status", None),
        ("admin", "POST", "/api/v1/clients", {"name": "a\x00b", "role": "admin"}),
        ("issuer_a", "POST", "/api/v1/licenses/X/suspend", {"reason": "\x00"}),
        ("holder", "POST", "/me/present", "identifier=%00"),
    ],
)
def test_a_nul_character_is_invalid_input_not_a_server_error(
    api: Api, caller: str, method: str, url: str, body: Any
) -> None:
    """PostgreSQL text cannot hold NUL; the API refuses it before the database sees it."""
    headers = api.as_(caller) if caller not in ("anyone", "holder") else {}
    client = api.holder() if caller == "holder" else api.http
    if isinstance(body, str):
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        answer = client.request(method, url, content=body, headers=headers)
    else:
        answer = client.request(method, url, json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    # A page's form is answered by a page (problem+json is for the API).
    page = url.startswith("/me/")
    wanted = "text/html; charset=utf-8" if page else "application/problem+json"
    assert answer.headers["content-type"] == wanted
