"""API clients: keys stored hashed, rotation, revocation, rate limits, the CLI."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.api.conftest import Api
from tests.cli.running import trustsvc_process
from tests.helpers import DEPARTMENT_A
from trustsvc.api.ratelimit import RateLimiter
from trustsvc.clock import FixedClock
from trustsvc.db.models import ApiKey
from trustsvc.errors import AuthenticationError, InvalidInputError, RateLimitedError
from trustsvc.services import Services
from trustsvc.sharing.clients import Authenticator, add_client, revoke_client, rotate_key


def test_only_a_digest_of_the_key_is_stored(api: Api) -> None:
    key = api.keys["verifier"]
    secret = key.split(".", 1)[1]
    with api.services.database.begin() as session:
        rows = session.scalars(select(ApiKey)).all()
        stored = " ".join(f"{r.key_id} {r.secret_sha256}" for r in rows)
    assert secret not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() in stored


@pytest.mark.parametrize(
    ("role", "options", "problem"),
    [
        ("issuer", {}, "acts for one department"),
        ("verifier", {}, "at least one purpose"),
        ("admin", {"department_code": DEPARTMENT_A}, "not bound to a department"),
        ("issuer", {"department_code": DEPARTMENT_A, "purposes": ["x"]}, "only verifier"),
        ("auditor", {}, "unknown role"),
    ],
)
def test_role_rules_are_checked(
    api: Api, role: str, options: dict[str, object], problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        add_client(api.services, "new client", role, **options)  # type: ignore[arg-type]


def test_revoked_and_rotated_keys_are_refused(services: Services, licenses: object) -> None:
    authenticator = Authenticator(services, cache_seconds=0)
    _info, first = add_client(services, "approvals", "issuer", department_code=DEPARTMENT_A)
    assert authenticator.authenticate(first.secret).name == "approvals"
    second = rotate_key(services, "approvals", grace=timedelta(hours=1))
    assert authenticator.authenticate(first.secret).name == "approvals"  # in its grace period
    assert isinstance(services.clock, FixedClock)
    services.clock.advance(timedelta(hours=1, seconds=1))
    with pytest.raises(AuthenticationError, match="expired"):
        authenticator.authenticate(first.secret)
    assert authenticator.authenticate(second.secret).name == "approvals"
    revoke_client(services, "approvals")
    with pytest.raises(AuthenticationError):
        authenticator.authenticate(second.secret)
    forged = second.secret[:-2] + ("AA" if not second.secret.endswith("AA") else "BB")
    with pytest.raises(AuthenticationError):
        Authenticator(services).authenticate(forged)
    with pytest.raises(AuthenticationError, match="malformed"):
        authenticator.authenticate("Bearer nothing")


def test_the_rate_limit_answers_429_with_retry_after(api: Api) -> None:
    _info, key = add_client(
        api.services, "slow", "verifier", purposes=["核验"], rate_limit_per_minute=3
    )
    headers = {"Authorization": f"Bearer {key.secret}"}
    statuses = [
        api.http.get("/api/v1/verify/token/abc", headers=headers).status_code for _ in range(4)
    ]
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429
    limited = api.http.get("/api/v1/verify/token/abc", headers=headers)
    assert limited.json()["code"] == "rate-limited"
    assert int(limited.headers["retry-after"]) >= 1
    # Other clients are not affected.
    assert api.http.get("/api/v1/verify/token/abc", headers=api.as_("verifier")).status_code == 200


def test_a_bucket_refills_with_time() -> None:
    now = [0.0]
    limiter = RateLimiter(monotonic=lambda: now[0])
    for _ in range(60):
        limiter.take(1, 60)
    with pytest.raises(RateLimitedError) as refused:
        limiter.take(1, 60)
    assert refused.value.retry_after == 1
    now[0] += 1.0
    limiter.take(1, 60)


def test_client_commands_print_the_key_once_and_list_no_secret(services: Services) -> None:
    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return trustsvc_process(
            ["--home", str(services.settings.home), *arguments],
            {
                "TRUSTSVC_DATABASE_URL": services.settings.resolved_database_url,
                "TRUSTSVC_KEY_PASSPHRASE": services.settings.key_passphrase.get_secret_value(),
                "PATH": "/usr/bin:/bin",
            },
            timeout=60,
        )

    catalogued = run("purpose", "add", "核验营业执照", "--type", "business-license")
    assert catalogued.returncode == 0, catalogued.stderr
    added = run("client", "add", "third party", "--role", "verifier", "--purpose", "核验营业执照")
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("tsk_")
    listed = run("client", "list")
    assert listed.returncode == 0 and "third party" in listed.stdout
    assert key.split(".", 1)[1] not in listed.stdout
    refused = run("client", "add", "x", "--role", "issuer")
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1
    assert "Traceback" not in refused.stderr
