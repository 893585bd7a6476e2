"""Staff sign-in and sign-out: the identity provider (OpenID Connect) says who signed in
(its ``sub``), the service's own staff records say what they may do.

With the development sign-in on (never in production), a form takes any staff
subject instead. The session is the same signed cookie as the holders', with
a row on the server that signing out ends everywhere.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated, Any

import httpx2
from authlib.integrations.base_client.errors import MismatchingStateError
from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from joserfc.errors import JoseError

from trustsvc.api.browser import CSRF_FIELD, check_csrf, renew_csrf_token
from trustsvc.api.deps import read_bounded_body, state_of
from trustsvc.api.inputs import parse_form
from trustsvc.api.pages.access import STAFF_SESSION_KEY, current_staff, session_digest
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.api.routes.signin import id_token_checks
from trustsvc.errors import AuthenticationError, NotFoundError, UpstreamUnavailableError
from trustsvc.holders.sessions import end_session, open_session
from trustsvc.staff.users import StaffMember, StaffRole, find_user

router = APIRouter(include_in_schema=False, route_class=PageRoute)
_FORM_LIMIT = 4096
_FIELDS = {"subject": 180, "next": 500, CSRF_FIELD: 100}
#: Where staff land after signing in, by role.
_LANDING = {
    StaffRole.CLERK: "/desk",
    StaffRole.OFFICER: "/console",
    StaffRole.DEPARTMENT_ADMIN: "/admin",
    StaffRole.AUDITOR: "/stats",
    StaffRole.OPERATOR_ADMIN: "/admin",
}


def _next_path(value: object, member: StaffMember | None = None) -> str:
    """A path on this site to go on to, never another site (``//host`` or a scheme)."""
    if (
        isinstance(value, str)
        and value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and value not in ("/staff/sign-in", "/")
    ):
        return value
    return _LANDING[member.role] if member is not None else "/staff"


def _development(request: Request) -> bool:
    settings = state_of(request).services.settings
    return settings.development_sign_in and not settings.production


@router.get("/staff/sign-in")
async def sign_in_page(request: Request) -> Response:
    oauth: OAuth | None = request.app.state.oauth
    if oauth is None and not _development(request):
        raise NotFoundError(
            "staff sign-in is not configured: set TRUSTSVC_OIDC_ISSUER and TRUSTSVC_OIDC_CLIENT_ID"
        )
    return render(
        request,
        "staff/sign_in.html",
        development=oauth is None,
        next=_next_path(request.query_params.get("next")),
        error=None,
    )


@router.get("/staff/sign-in/start")
async def start(request: Request) -> Response:
    oauth: OAuth | None = request.app.state.oauth
    if oauth is None:
        raise NotFoundError("staff sign-in with an identity provider is not configured")
    request.session["staff_next"] = _next_path(request.query_params.get("next"))
    base = state_of(request).services.settings.public_base_url
    try:
        response: Response = await oauth.idp.authorize_redirect(request, f"{base}/staff/callback")
    except httpx2.HTTPError as exc:
        raise UpstreamUnavailableError("the identity provider cannot be reached") from exc
    return response


@router.get("/staff/callback")
async def callback(request: Request) -> Response:
    oauth: OAuth | None = request.app.state.oauth
    if oauth is None:
        raise NotFoundError("staff sign-in with an identity provider is not configured")
    try:
        token = await oauth.idp.authorize_access_token(
            request,
            claims_options=await id_token_checks(oauth, state_of(request).services.settings),
        )
    except httpx2.HTTPError as exc:
        raise UpstreamUnavailableError("the identity provider cannot be reached") from exc
    except (MismatchingStateError, OAuthError, JoseError) as exc:
        raise AuthenticationError(
            "the identity provider did not confirm this sign-in; sign in again"
        ) from exc
    claims: dict[str, Any] = dict(token.get("userinfo") or {})
    subject = claims.get("sub")
    if not isinstance(subject, str):
        raise AuthenticationError("the identity provider sent no subject (sub)")
    next_path = request.session.pop("staff_next", None)
    return await _signed_in(request, subject, next_path)


@router.post("/auth/dev-staff-sign-in")
async def development_sign_in(request: Request) -> Response:
    if not _development(request):
        raise NotFoundError("the development sign-in is off (TRUSTSVC_DEVELOPMENT_SIGN_IN)")
    form = parse_form(await read_bounded_body(request, _FORM_LIMIT), max_lengths=_FIELDS)
    check_csrf(request, form.get(CSRF_FIELD))
    subject = (form.get("subject") or "").strip()
    try:
        return await _signed_in(request, subject, form.get("next"))
    except AuthenticationError as error:
        return render(
            request,
            "staff/sign_in.html",
            status_code=401,
            development=True,
            next=_next_path(form.get("next")),
            error=error.message,
        )


async def _signed_in(request: Request, subject: str, next_path: object) -> Response:
    """Open the staff session for ``subject`` (an active member of staff) and go on."""
    services = state_of(request).services
    member = await run_in_threadpool(find_user, services, subject)
    minutes = services.settings.staff_session_minutes
    previous = request.session.get(STAFF_SESSION_KEY)
    session_id = await run_in_threadpool(
        open_session,
        services,
        session_digest(member.subject),
        timedelta(minutes=minutes),
        replacing=previous.get("s") if isinstance(previous, dict) else None,
    )
    # One person per browser: a holder's session in it ends with a staff sign-in.
    request.session.clear()
    request.session[STAFF_SESSION_KEY] = {
        "sub": member.subject,
        "exp": int(time.time()) + minutes * 60,
        "s": session_id,
    }
    renew_csrf_token(request)
    return RedirectResponse(_next_path(next_path, member), status_code=303)


@router.post("/staff/sign-out")
async def sign_out(request: Request) -> Response:
    form = parse_form(await read_bounded_body(request, _FORM_LIMIT), (CSRF_FIELD,))
    stored: Any = request.session.get(STAFF_SESSION_KEY)
    if isinstance(stored, dict):
        check_csrf(request, form.get(CSRF_FIELD))
        await run_in_threadpool(end_session, state_of(request).services, stored.get("s"))
    request.session.clear()
    return RedirectResponse("/staff/sign-in", status_code=303)


#: Each role's name for people (zh, en).
ROLE_NAMES = {
    StaffRole.CLERK: ("窗口人员", "Window clerk"),
    StaffRole.OFFICER: ("经办人员", "Officer"),
    StaffRole.DEPARTMENT_ADMIN: ("部门管理员", "Department administrator"),
    StaffRole.AUDITOR: ("审计人员", "Auditor"),
    StaffRole.OPERATOR_ADMIN: ("运营管理员", "Operator administrator"),
}
#: The areas of the pages, by role: where each may go from the staff page.
AREAS = {
    StaffRole.CLERK: (("/desk", "核验台", "Verification desk"),),
    StaffRole.OFFICER: (
        ("/console", "签发与管理", "Issuing console"),
        ("/stats", "统计", "Statistics"),
    ),
    StaffRole.DEPARTMENT_ADMIN: (("/admin", "部门管理", "Department administration"),),
    StaffRole.AUDITOR: (
        ("/stats", "统计", "Statistics"),
        ("/admin/record", "操作记录", "Operator record"),
    ),
    StaffRole.OPERATOR_ADMIN: (
        ("/admin", "系统管理", "Administration"),
        ("/stats", "统计", "Statistics"),
    ),
}


@router.get("/staff")
async def staff_page(
    request: Request, member: Annotated[StaffMember, Depends(current_staff)]
) -> Response:
    """Who is signed in, in which role, and the areas that role may open."""
    return render(
        request, "staff/home.html", member=member, areas=AREAS[member.role], roles=ROLE_NAMES
    )
