"""The transparency log as static C2SP tlog-tiles: the checkpoint, hash tiles, entry bundles.

What any monitor, witness or auditor fetches to follow the log with tools
nobody here wrote. Full tiles never change, so they are cacheable forever; a
partial tile's bytes never change either, but it is replaced by a wider one as
the tree grows, so it is kept briefly; the checkpoint is never cached.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from trustsvc.api.deps import PkiServicesDep
from trustsvc.api.errors import problem_responses
from trustsvc.audit.log import reading
from trustsvc.errors import NotFoundError
from trustsvc.tlog.errors import FormatError
from trustsvc.tlog.tiles import parse_tile_path

router = APIRouter(prefix="/log", tags=["log"], responses=problem_responses(404, 429))

_IMMUTABLE = "public, max-age=31536000, immutable"
_PARTIAL = "public, max-age=60"
_CHECKPOINT = "no-cache"


@router.get(
    "/checkpoint",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
    summary="The log's latest checkpoint (C2SP tlog-checkpoint, a signed note with cosignatures)",
)
def checkpoint(services: PkiServicesDep) -> Response:
    published = reading.latest_checkpoint(services.database)
    if published is None:
        raise NotFoundError("the log has published no checkpoint yet")
    return Response(
        published.note,
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": _CHECKPOINT},
    )


@router.get(
    "/tile/{path:path}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
    summary="A hash tile tile/<L>/<N>[.p/<W>] or entry bundle tile/entries/<N>[.p/<W>]",
)
async def tile(path: str, services: PkiServicesDep) -> Response:
    try:
        wanted = parse_tile_path("tile/" + path)
    except FormatError as exc:
        raise NotFoundError(f"not a tile: {exc.message}") from exc
    body = await run_in_threadpool(reading.tile, services.database, wanted)
    return Response(
        body,
        media_type="application/octet-stream",
        headers={"Cache-Control": _PARTIAL if wanted.is_partial else _IMMUTABLE},
    )
