from __future__ import annotations

import requests

from tests.conftest import LiveServer
from trustsvc.services import Services


def test_unknown_paths_and_names_are_problem_json(
    services: Services, live_server: LiveServer
) -> None:
    for path, status in [
        ("/nowhere", 404),
        ("/pki/crl/nonsense", 404),
        ("/pki/certs/secret.key", 404),
        ("/pki/certs/root.txt", 404),
    ]:
        reply = requests.get(live_server.base_url + path, timeout=10)
        assert reply.status_code == status, path
        assert reply.headers["content-type"] == "application/problem+json"
        body = reply.json()
        assert body["status"] == status and body["code"] and body["title"]


def test_wrong_method_is_problem_json(services: Services, live_server: LiveServer) -> None:
    reply = requests.get(live_server.base_url + "/pki/tsa", timeout=10)
    assert reply.status_code == 405
    assert reply.headers["content-type"] == "application/problem+json"


def test_health_and_readiness(services: Services, live_server: LiveServer) -> None:
    assert requests.get(live_server.base_url + "/healthz", timeout=10).json() == {"status": "ok"}
    assert requests.get(live_server.base_url + "/readyz", timeout=10).json() == {"status": "ready"}


def test_certificates_in_both_encodings(services: Services, live_server: LiveServer) -> None:
    pem = requests.get(live_server.base_url + "/pki/certs/issuing.pem", timeout=10)
    der = requests.get(live_server.base_url + "/pki/certs/issuing.der", timeout=10)
    assert pem.content == services.pki.pem("issuing")
    assert der.content == services.pki.der("issuing")
    assert der.headers["content-type"] == "application/pkix-cert"
