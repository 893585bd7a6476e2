"""亮证 from the wallet: a code made from the form (kept for /me to show), a code the
page's script made through the JSON API (kept, and drawn), and forgetting the code shown."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response

from trustsvc.api.browser import CSRF_FIELD, check_csrf
from trustsvc.api.deps import StateDep, read_bounded_body
from trustsvc.api.errors import http_status
from trustsvc.api.inputs import parse_form
from trustsvc.api.pages.rendering import PageRoute
from trustsvc.api.pages.wallet.cards import wallet_page
from trustsvc.api.pages.wallet.common import WalletHolder, trouble_of
from trustsvc.api.pages.wallet.shown_code import SHOWN_KEY, keep, qr_svg
from trustsvc.errors import ConflictError, InvalidInputError, NotFoundError
from trustsvc.holders.portal import present_own
from trustsvc.holders.presentation import MAX_LIFETIME, PresentationCode
from trustsvc.tokens.decoding import MAX_TOKEN_LENGTH

router = APIRouter(include_in_schema=False, route_class=PageRoute)

_TOKEN = re.compile(r"[A-Za-z0-9_-]+")

_PRESENT_FIELDS = {
    "identifier": 128,
    "verifier": 200,
    "purpose": 200,
    "reusable": 8,
    CSRF_FIELD: 100,
}


@router.post("/me/present")
async def present_from_page(request: Request, holder: WalletHolder, state: StateDep) -> Response:
    """亮证 from the form: a code with the chosen options, kept for /me to show (then 303)."""
    form = parse_form(
        await read_bounded_body(request, 4096), _PRESENT_FIELDS, max_lengths=_PRESENT_FIELDS
    )
    check_csrf(request, form.get(CSRF_FIELD, ""))
    # Single use unless the holder ticked "usable more than once".
    single_use = form.get("reusable") != "1"
    try:
        code = await run_in_threadpool(
            lambda: present_own(
                state.services,
                state.licenses,
                holder,
                form.get("identifier", ""),
                lifetime=None,
                single_use=single_use,
                purpose=form.get("purpose", "").strip() or None,
                intended_verifier=form.get("verifier", "").strip() or None,
            )
        )
    except (InvalidInputError, ConflictError, NotFoundError) as error:
        trouble = trouble_of("未能生成亮证码", "No code was made", error)
        return await wallet_page(
            request, holder, state, None, None, trouble=trouble, status_code=http_status(error)
        )
    # Post, redirect, get: reloading the page shows this code again instead of making another.
    keep(request, code)
    return RedirectResponse("/me#presentation", status_code=303)


_SHOWN_FIELDS = {
    "token": MAX_TOKEN_LENGTH,
    "expires_at": 40,
    "identifier": 128,
    "verifier": 200,
    "purpose": 200,
    "single_use": 8,
    CSRF_FIELD: 100,
}


@router.post("/me/shown")
async def shown_by_script(request: Request, holder: WalletHolder, state: StateDep) -> Response:
    """The code the page's script just made through the JSON API: kept, and drawn as SVG.

    What is kept only decides what the holder's own page shows them, so the
    holder's word for it is enough; it is bounded all the same.
    """
    form = parse_form(
        await read_bounded_body(request, 8192), _SHOWN_FIELDS, max_lengths=_SHOWN_FIELDS
    )
    check_csrf(request, form.get(CSRF_FIELD, ""))
    token = form.get("token", "")
    now = state.services.clock.now()
    try:
        expires_at = datetime.fromisoformat(form.get("expires_at", ""))
    except ValueError:
        raise InvalidInputError("expires_at is not an ISO 8601 time") from None
    if not _TOKEN.fullmatch(token):
        raise InvalidInputError("the token is not a presentation token of this service")
    if expires_at.tzinfo is None or not now < expires_at <= now + MAX_LIFETIME:
        raise InvalidInputError("expires_at is not a time within a code's lifetime")
    link = f"{state.services.settings.public_base_url}/v/{token}"
    code = PresentationCode(
        token=token,
        link=link,
        identifier=form.get("identifier", ""),
        expires_at=expires_at,
        single_use=form.get("single_use", "1") != "0",
        purpose=form.get("purpose") or None,
        intended_verifier=form.get("verifier") or None,
    )
    keep(request, code)
    return JSONResponse(
        {
            "svg": qr_svg(link),
            "link": link,
            "seconds_left": int((expires_at - now).total_seconds()),
            "expires_local": expires_at.astimezone(state.services.settings.zone).strftime(
                "%H:%M:%S"
            ),
        }
    )


@router.post("/me/forget")
async def forget_code(request: Request, holder: WalletHolder) -> Response:
    """Stop showing the code (it stays valid until it expires, unless it is used)."""
    form = parse_form(await read_bounded_body(request, 1024), (CSRF_FIELD,))
    check_csrf(request, form.get(CSRF_FIELD, ""))
    request.session.pop(SHOWN_KEY, None)
    return RedirectResponse("/me", status_code=303)
