"""The HTTP server: uvicorn, bounded against slow and oversized request heads.

uvicorn's httptools protocol (the fast one, used by ``trustsvc serve``) has no
limit on the size of a request head and no time limit before a head is
complete: a client could keep thousands of connections open by sending
nothing, or a byte every few seconds, or a header of a megabyte that the
parser buffers whole (uvicorn bounds heads only for h11). So the protocol is
subclassed, as uvicorn allows (``Config(http=...)``):

- a connection must complete each request head (request line and headers,
  RFC 9112 section 2.1) within ``header_timeout_seconds`` of opening or of
  the previous response, else it is closed (with 408 if part of a request came);
- a request line longer than 8 KiB gets 414; a header field longer than
  8 KiB, or a head longer than ``max_header_bytes``, gets 431 (RFC 6585), and
  the connection is closed. 8 KiB per line is what common servers allow
  (nginx's large_client_header_buffers, Apache's LimitRequestLine); the
  longest line this service needs is a /v/ URL with a token of 2 KiB.

The checks cost a comparison per header and a clock read per response; the
timer is re-armed only when it fires, not per request.

Which client addresses are believed when a reverse proxy forwards them is
uvicorn's: ``proxy_headers`` with ``forwarded_allow_ips`` from
``TRUSTSVC_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import asyncio
import functools
import json
from asyncio import TimerHandle
from dataclasses import dataclass
from typing import Any, cast

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from trustsvc.settings import Settings

#: Longest request line, and longest header field (name and value), accepted.
MAX_LINE_BYTES = 8 * 1024
#: Added per header for its ": " and CRLF, so that the count is the head's size.
_HEADER_OVERHEAD = 4


@dataclass(frozen=True)
class HeadLimits:
    """What a connection may take to send a request head, and how large the head may be."""

    timeout_seconds: float
    """From the connection's opening, or from the end of its previous response."""
    max_bytes: int
    """Request line and headers together."""

    @classmethod
    def of(cls, settings: Settings) -> HeadLimits:
        return cls(settings.header_timeout_seconds, settings.max_header_bytes)


def _answer(status: int, reason: str, code: str, title: str) -> bytes:
    """A complete HTTP/1.1 answer with a problem+json body that closes the connection."""
    body = json.dumps(
        {
            "type": f"https://trustsvc.invalid/problems/{code}",
            "code": code,
            "title": title,
            "status": status,
        }
    ).encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode() + body


_TIMED_OUT = _answer(
    408, "Request Timeout", "request-timeout", "the request head was not sent in time"
)
_URI_TOO_LONG = _answer(
    414, "URI Too Long", "uri-too-long", f"the request line is longer than {MAX_LINE_BYTES} bytes"
)


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing; the answer is already chosen."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a size and a time limit on every request head."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HeadLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._timeout = limits.timeout_seconds
        self._max_head = limits.max_bytes
        self._max_field = min(MAX_LINE_BYTES, limits.max_bytes)
        #: When the current or next head must be complete; None while a request runs.
        self._head_deadline: float | None = None
        self._head_timer: TimerHandle | None = None
        #: A head has begun and is not complete yet.
        self._head_open = False
        #: Bytes counted from the parser's callbacks, and bytes received, for that head.
        self._head_size = 0
        self._head_received = 0
        self._refusal: bytes | None = None
        #: The size of the chunk being parsed, and whether a request ended in it.
        self._chunk = 0
        self._message_ended = False
        self._too_large = _answer(
            431,
            "Request Header Fields Too Large",
            "request-header-too-large",
            f"the request head is larger than {self._max_head} bytes or a header field "
            f"than {self._max_field} bytes",
        )

    # ---- the time limit ------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_deadline = self.loop.time() + self._timeout
        self._head_timer = self.loop.call_at(self._head_deadline, self._check_head_deadline)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _check_head_deadline(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        deadline = self._head_deadline
        if deadline is None:  # a request is running; look again later
            self._head_timer = self.loop.call_at(now + self._timeout, self._check_head_deadline)
        elif deadline <= now:
            if self._head_open:
                self.transport.write(_TIMED_OUT)
            self.transport.close()
        else:
            self._head_timer = self.loop.call_at(deadline, self._check_head_deadline)

    def on_response_complete(self) -> None:
        if not self.pipeline:
            # The next head is not here yet (a pipelined one would be complete already).
            self._head_deadline = self.loop.time() + self._timeout
        super().on_response_complete()

    # ---- the size limit ------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        # As uvicorn's, but a refusal from a callback gets its own answer, not 400.
        self._unset_keepalive_if_required()
        self._chunk = len(data)
        self._message_ended = False
        if self._head_open:
            self._head_received += self._chunk
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse(self._refusal)
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        # A head still open past the limit: a field the parser is still buffering
        # (it reports each field only when the next one starts).
        if self._head_open and self._head_received > self._max_head:
            self._refuse(self._too_large)

    def _refuse(self, answer: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_open = True
        self._head_size = 0
        # The chunk it begins in counts whole, unless it also ended a request (whose
        # body may be most of it): then the count starts with the next chunk.
        self._head_received = 0 if self._message_ended else self._chunk

    def on_message_complete(self) -> None:
        self._message_ended = True
        super().on_message_complete()

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        if self._head_size > self._max_field:
            self._refusal = _URI_TOO_LONG
            raise _Refused
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value)
        self._head_size += size + _HEADER_OVERHEAD
        if size > self._max_field or self._head_size > self._max_head:
            self._refusal = self._too_large
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_open = False
        self._head_deadline = None
        super().on_headers_complete()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` / ``uvicorn.Config`` that ``serve`` uses."""
    # A partial of a module-level class, not a class made here: with several workers
    # uvicorn pickles its configuration into each worker process. uvicorn only calls it.
    protocol = functools.partial(BoundedHttpToolsProtocol, limits=HeadLimits.of(settings))
    trusted = settings.trusted_proxies
    return {
        "http": cast("type[asyncio.Protocol]", protocol),
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted,
        "access_log": False,  # the service writes its own request log (see observability)
    }
