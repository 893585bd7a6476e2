"""Holders' sessions on the server: opened at sign-in, checked on every holder request,
ended at sign-out, at a new sign-in in the same browser, or when they expire.

The session cookie is signed, so no one can make one up; but a signed cookie
alone stays valid for its whole lifetime wherever a copy of it is kept.
Keeping each session as a row in the database (every node shares it) lets
signing out end it everywhere (OWASP Session Management: "invalidate the
session on the server side on logout"). The cookie carries a random id of
256 bits; the row keeps only its SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update

from trustsvc.db.models import HolderSession
from trustsvc.errors import AuthenticationError
from trustsvc.services import Services

#: Rows of sessions that ended longer ago than this are deleted at the next sign-in.
KEEP_ENDED = timedelta(days=1)
#: A session id as the cookie carries it: 32 random bytes, base64url (43 characters).
_ID_LENGTH = 43


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(
    services: Services, holder_digest: str, lifetime: timedelta, replacing: object = None
) -> str:
    """A new session for the holder, and its id for the cookie.

    The browser's previous session, if any (``replacing``), ends with it: one
    browser, one session. Rows long ended are cleared away in the same unit of work.
    """
    session_id = secrets.token_urlsafe(32)
    now = services.clock.now()
    with services.database.begin() as session:
        if isinstance(replacing, str):
            session.execute(
                update(HolderSession)
                .where(
                    HolderSession.session_sha256 == _digest(replacing),
                    HolderSession.ended_at.is_(None),
                )
                .values(ended_at=now)
            )
        session.execute(delete(HolderSession).where(HolderSession.expires_at < now - KEEP_ENDED))
        session.add(
            HolderSession(
                session_sha256=_digest(session_id),
                holder_id_digest=holder_digest,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
    return session_id


def check_session(services: Services, session_id: object, holder_digest: str) -> None:
    """Raise AuthenticationError unless the session is open and is the holder's.

    An expired session is ended on the server the first time it is presented.
    """
    if not isinstance(session_id, str) or len(session_id) != _ID_LENGTH:
        raise AuthenticationError("this session is not known; sign in again (/auth/sign-in)")
    now = services.clock.now()
    with services.database.begin() as session:
        row = session.scalar(
            select(HolderSession).where(HolderSession.session_sha256 == _digest(session_id))
        )
        if row is None or row.holder_id_digest != holder_digest:
            refusal = "this session is not known"
        elif row.ended_at is not None:
            refusal = "this session has ended"
        elif row.expires_at <= now:
            # Committed although the request is refused: the session ends here, on every node.
            row.ended_at = now
            refusal = "this session has expired"
        else:
            return
    raise AuthenticationError(f"{refusal}; sign in again (/auth/sign-in)")


def end_session(services: Services, session_id: object) -> None:
    """End the session (signing out); an unknown or already ended one is left as it is."""
    if not isinstance(session_id, str) or len(session_id) != _ID_LENGTH:
        return
    with services.database.begin() as session:
        session.execute(
            update(HolderSession)
            .where(
                HolderSession.session_sha256 == _digest(session_id),
                HolderSession.ended_at.is_(None),
            )
            .values(ended_at=services.clock.now())
        )


__all__ = ["check_session", "end_session", "open_session"]
