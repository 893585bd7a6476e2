"""The server as ``trustsvc serve`` runs it, over real sockets: slow and oversized heads.

A short header timeout keeps these fast; the server is the one ``serve``
configures (``uvicorn_options``), started by the ``live_server`` fixture.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.conftest import LiveServer
from trustsvc.api.server import MAX_LINE_BYTES, uvicorn_options
from trustsvc.settings import Settings

TIMEOUT = 0.6
HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "header_timeout_seconds": TIMEOUT,
            "public_rate_limit_per_minute": 60,
            "public_rate_limit_burst": 1,
        }
    )


def _connect(server: LiveServer) -> socket.socket:
    address = urlsplit(server.base_url)
    assert address.hostname is not None and address.port is not None
    connection = socket.create_connection((address.hostname, address.port), timeout=5)
    return connection


def _read_all(connection: socket.socket) -> bytes:
    """What the server sends until it closes (a reset counts as closing)."""
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def test_a_megabyte_header_is_refused_at_once(live_server: LiveServer) -> None:
    connection = _connect(live_server)
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\n"

    def send() -> None:
        with contextlib.suppress(OSError):  # the server stopped reading: as it should
            connection.sendall(head)

    sender = threading.Thread(target=send, daemon=True)
    started = time.monotonic()
    sender.start()
    answer = _read_all(connection)
    elapsed = time.monotonic() - started
    sender.join(5)
    connection.close()
    # 431, unless the reset of the unread rest overtook it: closed either way, quickly.
    assert answer.startswith(b"HTTP/1.1 431 ") or answer == b""
    assert elapsed < TIMEOUT


@pytest.mark.parametrize(
    ("head", "status", "code"),
    [
        (HEAD + b"X-Big: " + b"a" * 9000 + b"\r\n\r\n", 431, b"header-too-large"),
        (
            HEAD + b"".join(b"X-H%d: %s\r\n" % (i, b"a" * 4000) for i in range(5)) + b"\r\n",
            431,
            b"header-too-large",
        ),
        # Never finished: the parser would buffer it, so the bytes received count.
        (HEAD + b"X-Big: " + b"a" * 20_000, 431, b"header-too-large"),
        (b"GET /" + b"a" * MAX_LINE_BYTES + b" HTTP/1.1\r\n", 414, b"uri-too-long"),
    ],
    ids=["one-long-field", "many-fields", "unfinished-field", "long-request-line"],
)
def test_oversized_heads_get_their_status_and_a_problem(
    live_server: LiveServer, head: bytes, status: int, code: bytes
) -> None:
    connection = _connect(live_server)
    connection.sendall(head)
    answer = _read_all(connection)
    connection.close()
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:80]
    assert b"application/problem+json" in answer and code in answer


@pytest.mark.parametrize("sent", [b"", b"GET /heal"], ids=["nothing", "half-a-request-line"])
def test_a_connection_without_a_whole_head_is_closed_after_the_timeout(
    live_server: LiveServer, sent: bytes
) -> None:
    connection = _connect(live_server)
    started = time.monotonic()
    connection.sendall(sent)
    answer = _read_all(connection)
    elapsed = time.monotonic() - started
    connection.close()
    assert TIMEOUT * 0.8 < elapsed < TIMEOUT + 2
    # 408 once a request has begun; an idle connection is simply closed.
    assert answer.startswith(b"HTTP/1.1 408 ") if sent else answer == b""


def test_a_trickled_head_is_closed_at_the_deadline_not_kept_alive(live_server: LiveServer) -> None:
    connection = _connect(live_server)
    started = time.monotonic()
    with pytest.raises(OSError):  # sending fails once the server has closed
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            connection.sendall(bytes([byte]))
            time.sleep(TIMEOUT / 10)
            if time.monotonic() - started > TIMEOUT + 2:
                break
    connection.close()
    assert time.monotonic() - started < TIMEOUT + 2


def test_keep_alive_and_pipelined_requests_still_work(live_server: LiveServer) -> None:
    address = urlsplit(live_server.base_url)
    assert address.hostname is not None
    client = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    for _ in range(3):
        client.request("GET", "/healthz")
        answer = client.getresponse()
        assert answer.status == 200
        answer.read()
    client.close()
    connection = _connect(live_server)
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
    time.sleep(0.2)
    received = connection.recv(65536)
    connection.close()
    assert received.count(b"HTTP/1.1 200 ") == 2


def test_a_request_may_take_longer_than_the_head_timeout(live_server: LiveServer) -> None:
    # The head is complete; the body comes slowly: that is the handler's business.
    connection = _connect(live_server)
    connection.sendall(
        b"POST /pki/ocsp HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/ocsp-request\r\nContent-Length: 4\r\n\r\n"
    )
    time.sleep(TIMEOUT * 2)
    connection.sendall(b"\x30\x02\x05\x00")
    answer = connection.recv(65536)
    connection.close()
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_forwarded_addresses_are_believed_only_from_trusted_proxies(
    live_server: LiveServer, settings: Settings
) -> None:
    address = urlsplit(live_server.base_url)
    assert address.hostname is not None

    def status(forwarded_for: str) -> int:
        client = http.client.HTTPConnection(address.hostname or "", address.port, timeout=5)
        headers = {"X-Forwarded-For": forwarded_for}
        client.request("GET", "/public/licenses/x/status", headers=headers)
        code = client.getresponse().status
        client.close()
        return code

    # The test client is 127.0.0.1, a trusted proxy by default: each forwarded
    # address has its own budget of one request.
    assert [status("203.0.113.1"), status("203.0.113.1"), status("203.0.113.2")] == [
        200,
        429,
        200,
    ]
    untrusting = uvicorn_options(settings.model_copy(update={"trusted_proxies": ""}))
    assert untrusting["proxy_headers"] is False
    trusting = uvicorn_options(settings)
    assert trusting["proxy_headers"] is True and trusting["forwarded_allow_ips"] == "127.0.0.1,::1"


def test_trusted_proxies_must_be_addresses() -> None:
    assert Settings(trusted_proxies=" 10.0.0.0/8, ::1 ,").trusted_proxies == "10.0.0.0/8,::1"
    with pytest.raises(ValueError, match="not an IP address"):
        Settings(trusted_proxies="proxy.example")
