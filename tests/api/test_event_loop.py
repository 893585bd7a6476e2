"""The hot read routes never wait on PostgreSQL on the event loop.

On SQLite the status and token checks read a local file on the loop (cheaper than
a thread hop); on PostgreSQL the read waits on the network, so it must run in a
worker thread or every other request of the worker would wait with it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import PURPOSES, Api
from tests.licenses.pdf_checks import read_qr_codes
from trustsvc.api.app import create_app
from trustsvc.services import Services
from trustsvc.verification.verifier import Verifier


def _on_the_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _watch(monkeypatch: pytest.MonkeyPatch, name: str) -> list[bool]:
    """Records, for each call of ``Verifier.<name>``, whether it ran on the event loop."""
    seen: list[bool] = []
    original: Callable[..., Any] = getattr(Verifier, name)

    def watched(self: Verifier, *args: Any, **kwargs: Any) -> Any:
        seen.append(_on_the_loop())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Verifier, name, watched)
    return seen


def test_status_and_token_reads_run_off_the_loop_on_postgresql_only(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    identifier = api.issue()
    [link] = read_qr_codes(api.licenses.document(identifier))
    token = link.rsplit("/", 1)[1]
    postgres = api.services.database.engine.dialect.name == "postgresql"

    statuses = _watch(monkeypatch, "status_of")
    answer = api.http.get(f"/public/licenses/{identifier}/status")
    assert answer.status_code == 200 and answer.json()["status"] == "valid"

    tokens = _watch(monkeypatch, "check_token")
    answer = api.http.get(
        f"/api/v1/verify/token/{token}",
        params={"purpose": PURPOSES[0]},
        headers=api.as_("verifier"),
    )
    assert answer.status_code == 200 and answer.json()["verdict"] == "valid"

    assert statuses == [not postgres] and tokens == [not postgres]


def test_the_library_read_threads_end_with_the_app(services: Services) -> None:
    """The threads PostgreSQL reads wait in are stopped at shutdown, not left to the process."""
    app = create_app(services.settings, services=services)
    with TestClient(app, base_url=services.settings.public_base_url) as http:
        assert http.get("/healthz").status_code == 200
        app.state.api.library_readers.submit(lambda: None).result()  # on both databases
        assert any(t.name.startswith("library-read") for t in threading.enumerate())
    assert not any(
        t.name.startswith("library-read") and t.is_alive() for t in threading.enumerate()
    )
