"""The log as static C2SP tlog-tiles over HTTP: checkpoint, tiles, bundles, their caching."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from trustsvc.api.app import create_app
from trustsvc.audit.log import append_many, reading
from trustsvc.pki.log_key import load_or_create_log_key, log_key_path
from trustsvc.services import Services
from trustsvc.tlog.checkpoint import open_checkpoint
from trustsvc.tlog.merkle import leaf_hash
from trustsvc.tlog.note import NoteSigner
from trustsvc.tlog.tiles import parse_entry_bundle


@pytest.fixture
def http(services: Services) -> Iterator[TestClient]:
    app = create_app(services.settings, services=services)
    with TestClient(app, base_url=services.settings.public_base_url) as client:
        yield client


def _wait_for_checkpoint(services: Services, size: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        published = reading.latest_checkpoint(services.database)
        if published is not None and published.size >= size:
            return
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint of {size} entries was published")


def test_the_serving_process_integrates_and_publishes_and_serves_the_tiles(
    services: Services, http: TestClient
) -> None:
    bodies = [f"entry {i}".encode() for i in range(260)]
    with services.database.begin() as session:
        append_many(session, bodies)
    _wait_for_checkpoint(services, 260)

    answer = http.get("/log/checkpoint")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-cache"
    settings = services.settings
    key = NoteSigner(
        settings.resolved_log_origin, load_or_create_log_key(settings.home, settings.key_passphrase)
    )
    signed = open_checkpoint(answer.content, key.verifier)
    assert signed.checkpoint.size == 260
    assert signed.checkpoint.origin == settings.public_base_url.split("://")[1] + "/log"

    full = http.get("/log/tile/0/000")
    assert full.status_code == 200
    assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert full.content[:32] == leaf_hash(bodies[0]) and len(full.content) == 256 * 32
    partial = http.get("/log/tile/0/001.p/4")
    assert partial.status_code == 200 and partial.headers["cache-control"] == "public, max-age=60"
    assert partial.content == b"".join(leaf_hash(b) for b in bodies[256:260])
    bundle = http.get("/log/tile/entries/000")
    assert parse_entry_bundle(bundle.content) == bodies[:256]
    assert http.get("/log/tile/1/000.p/1").status_code == 200

    for beyond in ("0/001", "0/001.p/5", "0/002.p/1", "1/000", "2/000.p/1", "entries/001"):
        refused = http.get(f"/log/tile/{beyond}")
        assert refused.status_code == 404, beyond
        assert refused.headers["content-type"] == "application/problem+json"
    for malformed in ("0/1", "0/x000/001", "0/001.p/256", "64/000", "entries", "0/001/", "a" * 300):
        refused = http.get(f"/log/tile/{malformed}")
        assert refused.status_code == 404, malformed
        assert refused.headers["content-type"] == "application/problem+json"


def test_the_log_key_is_made_at_initialisation_and_kept_private(services: Services) -> None:
    path = log_key_path(services.settings.home)
    assert path.exists() and path.stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
