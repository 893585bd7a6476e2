"""Holder sign-in: OpenID Connect against the operator's identity provider (authlib),
or, for development only, a built-in form that takes any valid ID number (off unless
``TRUSTSVC_DEVELOPMENT_SIGN_IN`` is set, and refused in production).

The session cookie is signed with a key derived from the service's data key
(so every node accepts it), lives ``holder_session_minutes``, is HttpOnly and
SameSite=Lax, and Secure when the public URL is https. It carries the
holder's keyed ID digest and a masked ID, never the ID number, and the id of
the session's record on the server (access/sessions.py), which signing out
ends: a copy of the cookie stops working then. The forms carry the session's
CSRF token (api/browser.py).
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Annotated, Any

import httpx2
from authlib.integrations.base_client.errors import MismatchingStateError
from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc.errors import ClaimError, JoseError

from trustsvc.api.browser import CSRF_FIELD, check_csrf, renew_csrf_token
from trustsvc.api.deps import StateDep, read_bounded_body, state_of
from trustsvc.api.errors import problem_responses
from trustsvc.api.inputs import parse_form, parse_json
from trustsvc.api.pages.rendering import render
from trustsvc.errors import (
    AuthenticationError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UpstreamUnavailableError,
)
from trustsvc.holders.portal import Holder, identify
from trustsvc.holders.sessions import check_session, end_session, open_session
from trustsvc.licenses.holders import HolderIdType
from trustsvc.services import Services
from trustsvc.settings import Settings

router = APIRouter(tags=["holders"])
_FORM_LIMIT = 4096
#: The sign-in fields and their longest values (an ID number is at most 18 characters).
_SIGN_IN_LIMITS = {"id_type": 8, "id_number": 64, "name": 200}
_SIGN_IN_PROPERTIES = {
    "id_type": {
        "type": "string",
        "maxLength": 8,
        "description": "Holder ID type code; 111 when absent",
    },
    "id_number": {"type": "string", "maxLength": 64},
    "name": {"type": "string", "maxLength": 200},
}
_SIGN_IN_FIELDS = {"type": "object", "required": ["id_number"], "properties": _SIGN_IN_PROPERTIES}
_SIGN_IN_FORM = {
    "type": "object",
    "required": ["id_number", CSRF_FIELD],
    "properties": {
        **_SIGN_IN_PROPERTIES,
        CSRF_FIELD: {"type": "string", "description": "From the /auth/sign-in form"},
    },
}
_DEVELOPMENT_SIGN_IN = {
    "application/json": {"schema": _SIGN_IN_FIELDS},
    "application/x-www-form-urlencoded": {"schema": _SIGN_IN_FORM},
}
#: An OAuth error code as RFC 6749 allows it; anything else from the query is not echoed.
_ERROR_CODE = re.compile(r"[a-z_,]{1,64}")


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


async def id_token_checks(oauth: OAuth, settings: Settings) -> dict[str, Any]:
    """The ID token's issuer and audience, per OIDC Core 3.1.3.7.

    authlib checks ``aud`` only through ``azp``, so a token for another audience that
    names this client as its authorized party would pass; the audience is required here.
    """
    metadata = await oauth.idp.load_server_metadata()
    return {
        "iss": {"essential": True, "values": [metadata.get("issuer") or settings.oidc_issuer]},
        "aud": {"essential": True, "value": oauth.idp.client_id},
    }


def _session_id(request: Request) -> object:
    """The server-side session id the browser's cookie names, if it names one."""
    stored: Any = request.session.get("holder")
    return stored.get("s") if isinstance(stored, dict) else None


async def _start_session(
    request: Request, services: Services, holder: Holder, minutes: int
) -> None:
    """A new session on the server and in the cookie; the browser's previous one ends."""
    session_id = await run_in_threadpool(
        open_session,
        services,
        holder.digest,
        timedelta(minutes=minutes),
        replacing=_session_id(request),
    )
    request.session.clear()
    request.session["holder"] = {
        "t": holder.id_type,
        "d": holder.digest,
        "m": holder.id_masked,
        "n": holder.name,
        "via": holder.via,
        "exp": int(time.time()) + minutes * 60,
        "s": session_id,
    }
    renew_csrf_token(request)


async def current_holder(request: Request) -> Holder:
    """The signed-in holder, or 401: the cookie must be current and its session open."""
    stored: Any = request.session.get("holder") if "session" in request.scope else None
    if not isinstance(stored, dict) or stored.get("exp", 0) < time.time():
        raise AuthenticationError("sign in as the holder first (/auth/sign-in)")
    try:
        await run_in_threadpool(
            check_session, state_of(request).services, stored.get("s"), stored["d"]
        )
    except AuthenticationError:
        request.session.clear()
        raise
    return Holder(stored["t"], stored["d"], stored["m"], stored.get("n"), stored["via"])


HolderDep = Annotated[Holder, Depends(current_holder)]


@router.get(
    "/auth/sign-in",
    response_class=HTMLResponse,
    summary="Holder sign-in",
    responses={302: {"description": "To the identity provider"}, **problem_responses(404, 502)},
)
async def sign_in(request: Request, state: StateDep) -> Response:
    oauth: OAuth | None = request.app.state.oauth
    settings = state.services.settings
    if oauth is not None:
        redirect_uri = f"{settings.public_base_url}/auth/callback"
        try:
            response: Response = await oauth.idp.authorize_redirect(request, redirect_uri)
        except httpx2.HTTPError as exc:
            raise UpstreamUnavailableError("the identity provider cannot be reached") from exc
        return response
    if settings.development_sign_in and not settings.production:
        return _development_form(request)
    raise NotFoundError(
        "holder sign-in is not configured: set TRUSTSVC_OIDC_ISSUER and TRUSTSVC_OIDC_CLIENT_ID"
    )


@router.get(
    "/auth/callback",
    summary="Where the identity provider sends the holder back",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        303: {"description": "Signed in: to /me"},
        **problem_responses(401, 403, 404, 422, 502),
    },
)
async def callback(request: Request) -> RedirectResponse:
    oauth: OAuth | None = request.app.state.oauth
    if oauth is None:
        raise NotFoundError("holder sign-in with an identity provider is not configured")
    state = state_of(request)
    settings = state.services.settings
    try:
        token = await oauth.idp.authorize_access_token(
            request, claims_options=await id_token_checks(oauth, settings)
        )
    except httpx2.HTTPError as exc:
        raise UpstreamUnavailableError("the identity provider cannot be reached") from exc
    except MismatchingStateError as exc:
        raise AuthenticationError(
            "this sign-in was not started in this browser, or was already used; "
            "sign in again (/auth/sign-in)"
        ) from exc
    except OAuthError as exc:
        raise AuthenticationError(
            f"the identity provider refused the sign-in: {_error_code(exc.error)}"
        ) from exc
    except JoseError as exc:
        # A bad signature, an unknown key, or a claim (iss, aud, exp, nonce) that fails.
        claim = f" ({_error_code(exc.claim)})" if isinstance(exc, ClaimError) else ""
        raise AuthenticationError(
            f"the identity provider's ID token is not acceptable: {_error_code(exc.error)}{claim}"
        ) from exc
    if not token.get("userinfo"):
        raise AuthenticationError("the identity provider sent no ID token")
    claims = dict(token["userinfo"])
    id_number = claims.get(settings.oidc_id_number_claim)
    if not isinstance(id_number, str):
        raise ForbiddenError(
            f"the identity provider gave no {settings.oidc_id_number_claim!r} claim"
        )
    id_type = claims.get(settings.oidc_id_type_claim) or HolderIdType.CITIZEN_ID.value
    name = claims.get("name")
    holder = identify(
        state.data_key, str(id_type), id_number, name if isinstance(name, str) else None, "oidc"
    )
    await _start_session(request, state.services, holder, settings.holder_session_minutes)
    return RedirectResponse("/me", status_code=303)


@router.post(
    "/auth/dev-sign-in",
    summary="Development only: sign in as any holder (form or JSON: id_type, id_number, name)",
    responses={
        303: {"description": "Signed in (form)"},
        200: {"description": "Signed in (JSON)"},
        **problem_responses(403, 404, 413, 422),
    },
    openapi_extra={"requestBody": {"required": True, "content": _DEVELOPMENT_SIGN_IN}},
)
async def development_sign_in(request: Request, state: StateDep) -> Response:
    settings = state.services.settings
    if not settings.development_sign_in or settings.production:
        raise NotFoundError("the development sign-in is off (TRUSTSVC_DEVELOPMENT_SIGN_IN)")
    body = await read_bounded_body(request, _FORM_LIMIT)
    is_json = request.headers.get("content-type", "").startswith("application/json")
    fields: Any = parse_json(body) if is_json else parse_form(body, max_lengths=_SIGN_IN_LIMITS)
    if not isinstance(fields, dict) or not isinstance(fields.get("id_number"), str):
        raise InvalidInputError("id_number is required")
    for key, value in fields.items():
        if key not in _SIGN_IN_LIMITS:
            continue  # a field another layer reads (a CSRF token, say)
        if value is not None and not isinstance(value, str):
            raise InvalidInputError(f"{key} must be text")
        if value is not None and len(value) > _SIGN_IN_LIMITS[key]:
            raise InvalidInputError(f"{key} is longer than {_SIGN_IN_LIMITS[key]} characters")
    if not is_json:
        # A page of another site can post a form here, but not JSON: a cross-origin
        # application/json request needs a CORS preflight, which this service never grants.
        check_csrf(request, fields.get(CSRF_FIELD))
    try:
        holder = identify(
            state.data_key,
            str(fields.get("id_type") or HolderIdType.CITIZEN_ID.value),
            fields["id_number"],
            str(fields.get("name") or "") or None,
            "development",
        )
    except InvalidInputError:
        if is_json:
            raise
        # A person at the form: the form again, with what they typed and why, in Chinese.
        kept = {key: str(fields.get(key) or "") for key in _SIGN_IN_LIMITS}
        return _development_form(request, kept, _NOT_A_HOLDER)
    await _start_session(request, state.services, holder, settings.holder_session_minutes)
    if is_json:
        return JSONResponse({"signed_in": True, "holder_id_masked": holder.id_masked})
    return RedirectResponse("/me", status_code=303)


@router.post(
    "/auth/sign-out",
    summary="End the holder's session, on the server too",
    status_code=303,
    response_class=RedirectResponse,
    responses=problem_responses(403, 413, 422),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            CSRF_FIELD: {"type": "string", "description": "From the /me page"}
                        },
                    }
                }
            },
        }
    },
)
async def sign_out(request: Request, state: StateDep) -> RedirectResponse:
    form = parse_form(await read_bounded_body(request, _FORM_LIMIT), (CSRF_FIELD,))
    session_id = _session_id(request)
    if session_id is not None:
        # Only a signed-in browser has something to lose; another site may not sign it out.
        check_csrf(request, form.get(CSRF_FIELD, ""))
        await run_in_threadpool(end_session, state.services, session_id)
    request.session.clear()
    return RedirectResponse("/auth/sign-in", status_code=303)


def _error_code(error: object) -> str:
    return error if isinstance(error, str) and _ERROR_CODE.fullmatch(error) else "error"


def _development_form(
    request: Request,
    values: dict[str, str] | None = None,
    error: tuple[str, str] | None = None,
) -> HTMLResponse:
    """The development sign-in form; again with the visitor's values and why, when refused."""
    return render(
        request,
        "public/sign_in.html",
        status_code=422 if error else 200,
        id_types=list(HolderIdType),
        values=values or {"id_type": HolderIdType.CITIZEN_ID.value, "id_number": "", "name": ""},
        error=error,
    )


#: Why a form's holder was refused, in words (the API's JSON answer names it in English).
_NOT_A_HOLDER = (
    "证件类型或证件号码不正确，请核对后重新输入。",
    "The ID type or ID number is not right: check it and enter it again.",
)
