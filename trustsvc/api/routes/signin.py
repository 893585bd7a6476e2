"""Holder sign-in: OpenID Connect against the operator's identity provider (authlib),
or, for development only, a built-in form that takes any valid ID number.

The session cookie is signed with a key derived from the service's data key
(so every node accepts it), lives ``holder_session_minutes``, is HttpOnly and
SameSite=Lax, and Secure when the public URL is https. It carries the
holder's keyed ID digest and a masked ID, never the ID number.
"""

from __future__ import annotations

import html
import json
import time
from typing import Annotated, Any
from urllib.parse import parse_qs

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from trustsvc.access.holders import Holder, identify
from trustsvc.api.deps import StateDep, get_state, read_bounded_body
from trustsvc.config import Settings
from trustsvc.errors import AuthenticationError, ForbiddenError, InvalidInputError, NotFoundError
from trustsvc.licenses.holders import HolderIdType

router = APIRouter(tags=["holders"])
_FORM_LIMIT = 4096


def make_oauth(settings: Settings) -> OAuth | None:
    """The OIDC client, when an identity provider is configured."""
    if settings.oidc_issuer is None or settings.oidc_client_id is None:
        return None
    oauth = OAuth()
    secret = settings.oidc_client_secret
    oauth.register(
        "idp",
        client_id=settings.oidc_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile"},
    )
    return oauth


def _start_session(request: Request, holder: Holder, minutes: int) -> None:
    request.session.clear()
    request.session["holder"] = {
        "t": holder.id_type,
        "d": holder.digest,
        "m": holder.id_masked,
        "n": holder.name,
        "via": holder.via,
        "exp": int(time.time()) + minutes * 60,
    }


def current_holder(request: Request) -> Holder:
    """The signed-in holder, or 401."""
    stored: Any = request.session.get("holder") if "session" in request.scope else None
    if not isinstance(stored, dict) or stored.get("exp", 0) < time.time():
        raise AuthenticationError("sign in as the holder first (/auth/sign-in)")
    return Holder(stored["t"], stored["d"], stored["m"], stored.get("n"), stored["via"])


HolderDep = Annotated[Holder, Depends(current_holder)]


@router.get("/auth/sign-in", response_class=HTMLResponse, summary="Holder sign-in")
async def sign_in(request: Request, state: StateDep) -> Response:
    oauth: OAuth | None = request.app.state.oauth
    settings = state.services.settings
    if oauth is not None:
        redirect_uri = f"{settings.public_base_url}/auth/callback"
        response: Response = await oauth.idp.authorize_redirect(request, redirect_uri)
        return response
    if settings.development_sign_in and not settings.production:
        return HTMLResponse(_development_form())
    raise NotFoundError("holder sign-in is not configured (set TRUSTSVC_OIDC_ISSUER)")


@router.get("/auth/callback", summary="Where the identity provider sends the holder back")
async def callback(request: Request) -> RedirectResponse:
    oauth: OAuth | None = request.app.state.oauth
    if oauth is None:
        raise NotFoundError("holder sign-in with an identity provider is not configured")
    state = get_state(request)
    settings = state.services.settings
    try:
        token = await oauth.idp.authorize_access_token(request)
    except OAuthError as exc:
        raise AuthenticationError(f"the identity provider refused: {exc.error}") from exc
    claims = dict(token.get("userinfo") or {})
    id_number = claims.get(settings.oidc_id_number_claim)
    if not isinstance(id_number, str):
        raise ForbiddenError(
            f"the identity provider gave no {settings.oidc_id_number_claim!r} claim"
        )
    id_type = claims.get(settings.oidc_id_type_claim) or HolderIdType.CITIZEN_ID.value
    holder = identify(state.licenses, str(id_type), id_number, claims.get("name"), "oidc")
    _start_session(request, holder, settings.holder_session_minutes)
    return RedirectResponse("/me", status_code=303)


@router.post(
    "/auth/dev-sign-in",
    summary="Development only: sign in as any holder (form or JSON: id_type, id_number, name)",
    responses={303: {"description": "Signed in (form)"}, 200: {"description": "Signed in (JSON)"}},
)
async def development_sign_in(request: Request, state: StateDep) -> Response:
    settings = state.services.settings
    if not settings.development_sign_in or settings.production:
        raise NotFoundError("the development sign-in is off")
    body = await read_bounded_body(request, _FORM_LIMIT)
    is_json = request.headers.get("content-type", "").startswith("application/json")
    try:
        fields: dict[str, Any] = (
            json.loads(body)
            if is_json
            else {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError("the sign-in form is malformed") from exc
    if not isinstance(fields, dict) or not isinstance(fields.get("id_number"), str):
        raise InvalidInputError("id_number is required")
    holder = identify(
        state.licenses,
        str(fields.get("id_type") or HolderIdType.CITIZEN_ID.value),
        fields["id_number"],
        str(fields.get("name") or "") or None,
        "development",
    )
    _start_session(request, holder, settings.holder_session_minutes)
    if is_json:
        return JSONResponse({"signed_in": True, "holder_id_masked": holder.id_masked})
    return RedirectResponse("/me", status_code=303)


@router.post("/auth/sign-out", summary="End the holder's session")
async def sign_out(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/", status_code=303)


def _development_form() -> str:
    options = "".join(
        f'<option value="{kind.value}">'
        f"{html.escape(kind.label_zh)} · {html.escape(kind.label_en)}</option>"
        for kind in HolderIdType
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>持证人登录（开发）· Holder sign-in (development)</title></head>
<body style="font-family:system-ui,sans-serif;max-width:30rem;margin:2rem auto">
<h1>持证人登录 <small>Holder sign-in</small></h1>
<p><strong>开发模式</strong>：不核实身份，生产环境不可用。
<small>Development mode: identity is not checked; refused in production.</small></p>
<form method="post" action="/auth/dev-sign-in">
<p><label>证件类型 ID type<br><select name="id_type" id="id_type">{options}</select></label></p>
<p><label>证件号码 ID number<br><input name="id_number" id="id_number" required></label></p>
<p><label>姓名 Name<br><input name="name" id="name"></label></p>
<p><button type="submit" id="sign-in">登录 Sign in</button></p>
</form></body></html>"""
