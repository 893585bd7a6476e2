"""Staff sign in through the operator's identity provider (OpenID Connect code flow): the
provider says who (``sub``), the service's staff records say what they may do. A subject
that is not a member of staff, and an ID token that fails its checks, sign no one in."""

# ruff: noqa: F811  (the holders' fixtures, imported from test_oidc, are used by name)
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.oidc_provider import Fault, OpenIDProvider, provider_for
from tests.api.test_oidc import browser, settings  # noqa: F401  (the holders' fixtures)
from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A
from tests.pages.conftest import add_staff
from trustsvc.licenses.issuing import IssuingService
from trustsvc.services import Services
from trustsvc.staff.users import StaffRole

OFFICER = {"sub": "idp-staff-0007", "name": "李经办"}


@pytest.fixture
def provider(port: int) -> Iterator[OpenIDProvider]:
    """The holders' provider, also sending staff back to /staff/callback; OFFICER logs in."""
    with provider_for(port, OFFICER, "/auth/callback", "/staff/callback") as made:
        yield made


def test_a_member_of_staff_signs_in_with_the_provider(
    services: Services,
    licenses: IssuingService,
    live_server: LiveServer,
    provider: OpenIDProvider,
    browser: httpx.Client,
) -> None:
    add_staff(
        services, StaffRole.OFFICER, OFFICER["sub"], name="李经办", department_code=DEPARTMENT_A
    )
    page = browser.get("/staff")
    assert page.url.path == "/staff/sign-in" and page.url.params["next"] == "/staff"
    assert 'href="/staff/sign-in/start?next=/staff"' in page.text
    assert 'id="subject"' not in page.text  # no development form beside a provider
    page = browser.get("/staff/sign-in/start", params={"next": "/staff"})
    hops = [str(r.url) for r in page.history]
    assert hops[1].startswith(f"{provider.issuer}/authorize?")
    assert hops[2].startswith(f"{live_server.base_url}/staff/callback?code=")
    assert page.status_code == 200 and page.url.path == "/staff", page.text
    assert "李经办" in page.text and "杭州市市场监督管理局" in page.text


def test_a_subject_that_is_not_staff_is_refused(
    services: Services, live_server: LiveServer, browser: httpx.Client
) -> None:
    page = browser.get("/staff/sign-in/start", params={"next": "/staff"})
    assert page.status_code == 401
    assert "not a member of staff" in page.text
    assert browser.get("/staff").url.path == "/staff/sign-in"


@pytest.mark.parametrize("fault", [Fault.WRONG_AUDIENCE, Fault.WRONG_NONCE, Fault.FOREIGN_KEY])
def test_an_id_token_that_fails_its_checks_signs_no_member_of_staff_in(
    fault: Fault,
    services: Services,
    licenses: IssuingService,
    live_server: LiveServer,
    provider: OpenIDProvider,
    browser: httpx.Client,
) -> None:
    add_staff(services, StaffRole.OFFICER, OFFICER["sub"], department_code=DEPARTMENT_A)
    provider.fault = fault
    page = browser.get("/staff/sign-in/start", params={"next": "/staff"})
    assert page.status_code == 401
    assert "did not confirm this sign-in" in page.text
    assert browser.get("/staff").url.path == "/staff/sign-in"
