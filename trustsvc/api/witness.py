"""The witness's HTTP interface per C2SP tlog-witness: ``POST /add-checkpoint`` and the
monitoring ``GET /<origin hash>/checkpoint``; a separate, small Starlette app that
``trustsvc witness serve`` runs with its own key and state (``tlog.witness``).

Answers are the spec's: text, and the statuses it names (400, 403, 404, 409 with a
``text/x.tlog.size`` body, 422), not the service's problem+json. The body is bounded in
size and in time before it is parsed.
"""

from __future__ import annotations

import asyncio
import functools
import re
from typing import cast

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from trustsvc.api.errors import http_status
from trustsvc.api.server import BoundedHttpToolsProtocol, HeadLimits
from trustsvc.tlog.witness import MAX_REQUEST_BYTES, Witness, WitnessConflictError, WitnessRefusal

#: A request body must arrive within this; a checkpoint and a proof are a few KiB.
BODY_SECONDS = 10.0

_ORIGIN_HASH = re.compile(r"[0-9a-f]{64}")


class _TooLarge(Exception):
    pass


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _text(status: int, message: str) -> PlainTextResponse:
    return PlainTextResponse(message + "\n", status_code=status)


def create_witness_app(witness: Witness) -> Starlette:
    """The witness app over ``witness`` (its key and state directory)."""

    async def add_checkpoint(request: Request) -> Response:
        try:
            body = await asyncio.wait_for(
                _bounded_body(request, MAX_REQUEST_BYTES), timeout=BODY_SECONDS
            )
        except _TooLarge:
            return _text(413, f"the request is larger than {MAX_REQUEST_BYTES} bytes")
        except TimeoutError:
            return _text(408, "the request body did not arrive in time")
        try:
            # SQLite and the fsync block: off the event loop.
            cosigned = await run_in_threadpool(witness.add_checkpoint, body)
        except WitnessConflictError as exc:
            return Response(f"{exc.size}\n", status_code=409, media_type="text/x.tlog.size")
        except WitnessRefusal as exc:
            return _text(http_status(exc), exc.message)
        return Response(
            cosigned.signature_lines, status_code=200, media_type="text/plain; charset=utf-8"
        )

    async def checkpoint(request: Request) -> Response:
        origin_hash = request.path_params["origin_hash"]
        if not _ORIGIN_HASH.fullmatch(origin_hash):
            return _text(404, "no such log")
        note = await run_in_threadpool(witness.latest, origin_hash)
        if note is None:
            return _text(404, "this witness has not cosigned a checkpoint of that log")
        return Response(
            note,
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "no-cache, max-age=5"},
        )

    return Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/{origin_hash}/checkpoint", checkpoint, methods=["GET"]),
        ]
    )


def serve_witness(witness: Witness, host: str, port: int) -> None:
    """Run the witness app with uvicorn, request heads bounded as the service's are."""
    import uvicorn

    limits = HeadLimits(timeout_seconds=10.0, max_bytes=16 * 1024)
    protocol = functools.partial(BoundedHttpToolsProtocol, limits=limits)
    uvicorn.run(
        create_witness_app(witness),
        host=host,
        port=port,
        http=cast("type[asyncio.Protocol]", protocol),
        access_log=False,
    )
