"""An app over a fresh home with two departments, and an API key of every role.

``api.as_(who)`` gives the headers of a caller: "none", "issuer_a",
"issuer_b", "verifier", "admin"; ``api.holder(...)`` a client signed in as a
holder through the development sign-in, which the settings here turn on
(it is off by default); ``csrf_token_of(client)`` the token its forms carry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import DEPARTMENT_A, DEPARTMENT_B, add_purposes
from trustsvc.api.app import create_app
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.settings import Settings
from trustsvc.sharing.clients import add_client
from trustsvc.sharing.purposes import add_purpose

PURPOSES = ("办理不动产抵押登记", "办理营业执照变更")
#: The license types each of PURPOSES may see.
PURPOSE_TYPES = (("real-estate-certificate", "business-license"),) * 2
#: Further catalogue entries (every type) for the clients tests make on their own.
OTHER_PURPOSES = ("核查", "核验", "贷款审查")
#: A citizen who holds the example real-estate certificate.
CITIZEN_ID = "330106198503120044"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings, with the development sign-in on: the holders' tests use it."""
    return settings.model_copy(update={"development_sign_in": True})


def csrf_token_of(client: TestClient, page: str = "/me") -> str:
    """The CSRF token in the forms of ``page``, as a browser would send it back."""
    answer = client.get(page)
    assert answer.status_code == 200, answer.text
    found = _CSRF_FIELD.search(answer.text)
    assert found, f"no CSRF token in the forms of {page}"
    return found.group(1)


@dataclass
class Api:
    http: TestClient
    services: Services
    licenses: IssuingService
    keys: dict[str, str] = field(default_factory=dict)

    def as_(self, who: str) -> dict[str, str]:
        if who == "none":
            return {}
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def holder(self, id_number: str = CITIZEN_ID, id_type: str = "111") -> TestClient:
        client = TestClient(self.http.app, base_url=str(self.http.base_url))
        answer = client.post(
            "/auth/dev-sign-in",
            json={"id_type": id_type, "id_number": id_number, "name": "王小红"},
        )
        assert answer.status_code == 200, answer.text
        return client

    def issue(self, type_key: str = "real-estate-certificate", **changes: Any) -> str:
        data = {**example_data(get_type(self.licenses.types, type_key)), **changes}
        result = self.licenses.issue(IssueRequest(DEPARTMENT_A, type_key, data))
        return result.license.identifier


@pytest.fixture
def api(services: Services, licenses: IssuingService) -> Iterator[Api]:
    app = create_app(services.settings, services=services)
    with TestClient(app, base_url=services.settings.public_base_url) as http:
        made = Api(http, services, app.state.api.licenses)
        # A verifier's purposes are entries of the purpose catalogue, each seeing its types.
        for purpose, types in zip(PURPOSES, PURPOSE_TYPES, strict=True):
            add_purpose(services, purpose, types)
        add_purposes(services, *OTHER_PURPOSES)
        for who, role, options in (
            ("issuer_a", "issuer", {"department_code": DEPARTMENT_A}),
            ("issuer_b", "issuer", {"department_code": DEPARTMENT_B}),
            ("verifier", "verifier", {"purposes": PURPOSES}),
            ("admin", "admin", {}),
        ):
            _info, key = add_client(services, who, role, **options)
            made.keys[who] = key.secret
        yield made
