"""The public face: the home page (what the service is, and the ways in), and the box on it
that takes a scanned QR link, a bare token or a license identifier.

The box has exactly the public's power: a link or token goes to the page the QR code
opens (``/v/<token>``, routes/public.py); an identifier gets the library's status, as
``/public/licenses/{identifier}/status`` answers it. A license number (证照编号) is
refused here: numbers run in sequence, and a public lookup by number would let anyone
walk through a department's licenses (which the enciphered identifiers prevent).
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trustsvc.api.deps import PublicStateDep, library_read
from trustsvc.api.pages.rendering import render
from trustsvc.api.pages.scanned import scanned_page
from trustsvc.codes.identifiers import parse_identifier
from trustsvc.errors import InvalidInputError
from trustsvc.tokens.decoding import MAX_TOKEN_LENGTH, try_parse_token
from trustsvc.verification.summary import Words

router = APIRouter(include_in_schema=False)

#: The longest text the box takes: a token in a link of a long host name.
MAX_QUERY = MAX_TOKEN_LENGTH + 256
#: A link's token: what follows its last /v/, up to a query or fragment.
_LINK_TOKEN = re.compile(r"/v/([A-Za-z0-9_-]+)/?$")

_TOO_LONG: Words = (
    f"输入过长（最多{MAX_QUERY}个字符）：请粘贴扫码得到的链接，或输入证照标识。",
    f"Too long (at most {MAX_QUERY} characters): paste the scanned link, or type the identifier.",
)
_NOT_UNDERSTOOD: Words = (
    "未能识别：请粘贴扫描证照二维码得到的链接，或输入以“1.2.156.”开头的证照标识。"
    "证照编号不能在此公开查询（以免他人逐号查询持证人的证照），请扫描证照上的二维码，或到办事窗口核验。",
    "Not recognised: paste the link the license's QR code opens, or type the license identifier "
    "(it starts with 1.2.156.). A license number cannot be looked up publicly (that would let "
    "anyone walk through the licenses by number): scan the QR code, or have it checked at a "
    "counter.",
)


@router.get("/")
async def home(request: Request) -> HTMLResponse:
    return render(request, "public/home.html", max_query=MAX_QUERY, query="", error=None)


@router.get("/check")
async def check(
    request: Request, state: PublicStateDep, q: Annotated[str, Query()] = ""
) -> Response:
    """Where the home page's box goes: to the QR page, the status page, or back with a word."""
    text = q.strip()
    if len(text) > MAX_QUERY:
        return _again(request, q[:MAX_QUERY], _TOO_LONG)
    token = _token_in(text)
    if token is not None:
        # The QR code's own page decides, and records what it must: no second way in.
        return RedirectResponse(f"/v/{quote(token, safe='')}", status_code=303)
    try:
        identifier = str(parse_identifier(text.upper()))
    except InvalidInputError:
        return _again(request, text, _NOT_UNDERSTOOD)
    report = await library_read(state, partial(state.verifier.status_of, identifier))
    response = scanned_page(request, state, report, status_only=True)
    response.headers["cache-control"] = "no-store"
    return response


def _token_in(text: str) -> str | None:
    """The token a scanned link or a bare token carries, if it decodes as one."""
    candidate = text
    if "/" in text:
        found = _LINK_TOKEN.search(urlsplit(text).path)
        if found is None:
            return None
        candidate = found.group(1)
    if not candidate or len(candidate) > MAX_TOKEN_LENGTH:
        return None
    return candidate if try_parse_token(candidate) is not None else None


def _again(request: Request, query: str, error: Words) -> HTMLResponse:
    return render(
        request,
        "public/home.html",
        status_code=422,
        max_query=MAX_QUERY,
        query=query,
        error=error,
    )
