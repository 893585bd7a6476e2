"""Multipart page forms (uploads), read with bounds before and while they are parsed.

Starlette's parser bounds parts and fields but not the body: the body is read
(and refused past its limit) first, then handed to the parser.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request as StarletteRequest

from trustsvc.api.deps import read_bounded_body
from trustsvc.errors import InvalidInputError


async def bounded_multipart(
    request: Request, limit: int, *, max_fields: int, max_part_size: int
) -> FormData:
    """A multipart form read whole within ``limit`` bytes, then parsed with bounds."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise InvalidInputError("this form is sent as multipart/form-data")
    body = await read_bounded_body(request, limit)
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    replay = StarletteRequest(request.scope, receive)
    try:
        return await replay.form(max_files=1, max_fields=max_fields, max_part_size=max_part_size)
    except Exception as exc:  # the parser's errors (MultiPartException, HTTPException)
        raise InvalidInputError("the upload is not a well-formed multipart form") from exc


def text_field(form: FormData, name: str, limit: int = 200) -> str:
    """A short text field of the form ('' when absent)."""
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInputError(f"form field {name!r} is not short text")
    return value


async def file_field(form: FormData, name: str, limit: int) -> tuple[str, bytes]:
    """The uploaded file's name and content, at most ``limit`` bytes; ('', b'') when none."""
    value = form.get(name)
    if not isinstance(value, UploadFile) or not value.filename:
        return "", b""
    content = await value.read(limit + 1)
    if len(content) > limit:
        raise InvalidInputError(f"the file is larger than {limit // (1024 * 1024)} MB")
    return value.filename[:200], content
