"""Who may open a staff page: the signed-in member of staff, of one of the page's roles.

A visitor who is not signed in as staff is sent to the staff sign-in (with
the page to come back to); a member of staff of another role is refused with
a 403 page, and a disabled account is signed out at its next request. The
session is the browser's signed cookie with a row on the server (the holders'
sessions, under a digest of the staff subject), so signing out ends it
everywhere.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from trustsvc.api.deps import state_of
from trustsvc.errors import AuthenticationError, RoleRefusedError, SignInRequiredError
from trustsvc.holders.sessions import check_session
from trustsvc.staff.users import StaffMember, StaffRole, find_user

#: The session key of a staff sign-in.
STAFF_SESSION_KEY = "staff"


def session_digest(subject: str) -> str:
    """What a staff session row is kept under: domain-separated from holders' keyed digests."""
    return hashlib.sha256(b"trustsvc staff session\x00" + subject.encode()).hexdigest()


def _sign_in_first(next_path: str) -> SignInRequiredError:
    return SignInRequiredError(
        "sign in as staff first (/staff/sign-in)",
        f"/staff/sign-in?next={quote(next_path, safe='/')}",
    )


async def current_staff(request: Request) -> StaffMember:
    """The signed-in, active member of staff, or SignInRequiredError."""
    stored: Any = request.session.get(STAFF_SESSION_KEY) if "session" in request.scope else None
    if not isinstance(stored, dict) or stored.get("exp", 0) < time.time():
        raise _sign_in_first(request.url.path)
    services = state_of(request).services
    subject = stored.get("sub")
    try:
        if not isinstance(subject, str):
            raise AuthenticationError("no staff subject in the session")
        await run_in_threadpool(check_session, services, stored.get("s"), session_digest(subject))
        member = await run_in_threadpool(find_user, services, subject)
    except AuthenticationError:
        request.session.pop(STAFF_SESSION_KEY, None)
        raise _sign_in_first(request.url.path) from None
    request.state.staff = member
    return member


def staff_with(*roles: StaffRole) -> Callable[[Request], Awaitable[StaffMember]]:
    """A dependency admitting signed-in staff of ``roles`` only."""
    allowed = frozenset(roles)

    async def admitted(request: Request) -> StaffMember:
        member = await current_staff(request)
        if member.role not in allowed:
            raise RoleRefusedError(
                f"this page is for {', '.join(sorted(r.value for r in allowed))}; "
                f"you are signed in as {member.role.value}"
            )
        return member

    return admitted
