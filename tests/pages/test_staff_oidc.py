"""Staff sign in through the operator's identity provider (OpenID Connect code flow): the
provider says who (``sub``), the service's staff records say what they may do. A subject
that is not a member of staff, and an ID token that fails its checks, sign no one in."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tests.api.oidc_provider import Fault, OpenIDProvider
from tests.conftest import TEST_PASSPHRASE, LiveServer, free_port
from tests.helpers import DEPARTMENT_A
from tests.pages.conftest import add_staff
from trustsvc.licenses.issuing import LicenseService
from trustsvc.services import Services
from trustsvc.settings import Settings
from trustsvc.staff.users import StaffRole

OFFICER = {"sub": "idp-staff-0007", "name": "李经办"}


@pytest.fixture
def provider(port: int) -> Iterator[OpenIDProvider]:
    provider_port = free_port()
    while provider_port == port:
        provider_port = free_port()
    made = OpenIDProvider(
        port=provider_port,
        client_id="trustsvc-test",
        client_secret=secrets.token_urlsafe(24),
        redirect_uri=f"http://127.0.0.1:{port}/auth/callback",
        other_redirect_uris=(f"http://127.0.0.1:{port}/staff/callback",),
        user=dict(OFFICER),
    )
    made.start()
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str | None, port: int, provider: OpenIDProvider
) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        public_base_url=f"http://127.0.0.1:{port}",
        key_passphrase=TEST_PASSPHRASE,
        development_sign_in=False,
        oidc_issuer=provider.issuer,
        oidc_client_id=provider.client_id,
        oidc_client_secret=SecretStr(provider.client_secret),
    )


@pytest.fixture
def browser(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_server.base_url, follow_redirects=True, trust_env=False, timeout=15
    ) as client:
        yield client


def test_a_member_of_staff_signs_in_with_the_provider(
    services: Services,
    licenses: LicenseService,
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
    licenses: LicenseService,
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
