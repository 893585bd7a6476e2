"""The API says what the verifier concluded: the verdict as an enum in the OpenAPI schema,
its words, the scope, the status's date and kind, and the metrics by verdict (issue 11)."""

from __future__ import annotations

from tests.api.conftest import PURPOSES, Api
from trustsvc.licenses.library import Action, RevocationKind
from trustsvc.verification.report import Verdict


def test_the_openapi_schema_lists_every_verdict(api: Api) -> None:
    schemas = api.http.get("/openapi.json").json()["components"]["schemas"]
    assert set(schemas["Verdict"]["enum"]) == {v.value for v in Verdict}
    verification = schemas["VerificationOut"]["properties"]
    assert verification["verdict"] == {"$ref": "#/components/schemas/Verdict"}
    assert set(schemas["Scope"]["enum"]) == {"online", "offline"}
    assert {"verdict_zh", "verdict_en", "scope"} <= set(verification)
    revoke = schemas["RevokeBody"]
    assert set(revoke["required"]) == {"kind", "reason"}


def test_a_withdrawn_license_verified_by_pdf_says_when_and_which(api: Api) -> None:
    identifier = api.issue()
    api.licenses.transition(
        identifier, Action.REVOKE, "clerk", "违法经营", revocation_kind=RevocationKind.WITHDRAWN
    )
    answer = api.http.post(
        "/api/v1/verify",
        content=api.licenses.document(identifier),
        params={"purpose": PURPOSES[0]},
        headers={**api.as_("verifier"), "Content-Type": "application/pdf"},
    ).json()
    assert answer["verdict"] == "not_current" and answer["scope"] == "online"
    assert answer["verdict_zh"] == "证照非现行有效" and answer["valid"] is False
    facts = answer["facts"]
    assert facts["revocation_kind"] == "withdrawn" and facts["status_reason"] == "违法经营"
    assert facts["status_since"].endswith("Z") or facts["status_since"].endswith("+00:00")
    metrics = api.http.get("/metrics", headers=api.as_("admin")).text
    assert 'verdict="not_current"' in metrics
