"""Routes anyone may call are rate-limited per client address: 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from trustsvc.api.ratelimit import RateLimiter, address_key
from trustsvc.errors import RateLimitedError
from trustsvc.settings import Settings

BURST = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "public_rate_limit_per_minute": 60,
            "public_rate_limit_burst": BURST,
            "pki_rate_limit_per_minute": 60,
            "pki_rate_limit_burst": BURST + 2,
        }
    )


@pytest.fixture
def from_address(api: Api) -> Iterator[dict[str, TestClient]]:
    clients = {
        address: TestClient(api.http.app, base_url=str(api.http.base_url), client=(address, 4321))
        for address in ("198.51.100.7", "198.51.100.8", "2001:db8::1", "2001:db8::2")
    }
    yield clients
    for client in clients.values():
        client.close()


def test_one_address_is_limited_while_another_still_passes(
    api: Api, from_address: dict[str, TestClient]
) -> None:
    identifier = api.issue()
    status = f"/public/licenses/{identifier}/status"
    first, second = from_address["198.51.100.7"], from_address["198.51.100.8"]
    assert [first.get(status).status_code for _ in range(BURST)] == [200] * BURST
    limited = first.get(status)
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["code"] == "rate-limited"
    assert int(limited.headers["retry-after"]) >= 1
    # The scanned-code page shares the budget: guessing cannot move to another route.
    assert first.get("/v/AAAA").status_code == 429
    assert second.get(status).json()["verdict"] == "valid"


def test_an_ipv6_subscriber_counts_once_per_64(
    api: Api, from_address: dict[str, TestClient]
) -> None:
    status = f"/public/licenses/{api.issue()}/status"
    one, neighbour = from_address["2001:db8::1"], from_address["2001:db8::2"]
    answers = [client.get(status).status_code for client in (one, neighbour) * BURST]
    assert answers[:BURST] == [200] * BURST and set(answers[BURST:]) == {429}


def test_pki_routes_have_their_own_budget(api: Api, from_address: dict[str, TestClient]) -> None:
    client = from_address["198.51.100.7"]
    answers = [client.get("/pki/certs/root.pem").status_code for _ in range(BURST + 3)]
    assert answers == [200] * (BURST + 2) + [429]
    # Relying parties' OCSP and CRL fetches do not eat the public budget, nor the reverse.
    assert client.get("/public/licenses/x/status").status_code != 429


def test_a_limit_of_zero_is_off(api: Api) -> None:
    state = api.http.app.state.api  # type: ignore[attr-defined]
    state.services.settings = api.services.settings.model_copy(
        update={"public_rate_limit_per_minute": 0}
    )
    answers = {api.http.get("/public/licenses/x/status").status_code for _ in range(BURST * 3)}
    assert 429 not in answers
    assert len(state.public_limiter) == 0


def test_buckets_are_bounded_and_keep_the_busy_ones() -> None:
    now = [0.0]
    limiter = RateLimiter(monotonic=lambda: now[0], max_clients=10)
    for index in range(1000):  # a flood of addresses at once: the oldest go
        limiter.take(f"address {index}", 60, burst=1)
        assert len(limiter) <= 10
    now[0] = 2.0  # all of those have refilled: they say nothing a new bucket would not
    limiter.take("busy", 60, burst=1)
    now[0] = 2.5
    for index in range(5):
        limiter.take(f"late {index}", 60, burst=1)
    assert len(limiter) == 6  # the refilled ones went, the busy one stayed
    with pytest.raises(RateLimitedError):  # still empty: not reset by the eviction
        limiter.take("busy", 60, burst=1)


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:0:1::1", "20010db800000001"),
        ("2001:db8:0:1:ffff::2", "20010db800000001"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        (None, ""),
        ("testclient", "testclient"),
    ],
)
def test_address_keys(host: str | None, key: str) -> None:
    assert address_key(host) == key
