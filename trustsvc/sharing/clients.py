"""API clients and their keys.

A client is a system that calls the API under one role: ``issuer`` (acts for
one department), ``verifier`` (another department or a third party, with the
purposes it may state) or ``admin``. Its key is shown once when made and kept
only as the SHA-256 of its secret: the secret is 256 random bits, so a slow
password hash would add nothing but latency. A key names its own public id,
so checking it is one indexed read; verified keys are remembered for a few
seconds per process, which bounds how long a revoked key keeps working on a
node.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustsvc.audit.operators import Operator, OperatorAction, record_operation
from trustsvc.db.models import ApiClient, ApiKey, ClientRole, Department
from trustsvc.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PurposeRefusedError,
)
from trustsvc.services import Services
from trustsvc.sharing.purposes import require_known
from trustsvc.text import clean_name

_KEY_PREFIX = "tsk_"
_KEY_PATTERN = re.compile(r"tsk_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})")
#: How long a verified key is trusted without asking the database again.
KEY_CACHE_SECONDS = 5.0
MAX_PURPOSES = 50
MAX_RATE_LIMIT = 1_000_000


@dataclass(frozen=True)
class Client:
    """An authenticated API client, as the routes see it."""

    id: int
    name: str
    role: ClientRole
    department_code: str | None
    department_name: str | None
    #: The purposes (用证事由) a verifier may state; empty for other roles.
    purposes: tuple[str, ...]
    rate_limit_per_minute: int | None

    def stated_purpose(self, purpose: str | None) -> str | None:
        """The purpose as stated (None when none is), refused if it is not one of this client's."""
        stated = (purpose or "").strip() or None
        if stated is not None and stated not in self.purposes:
            raise PurposeRefusedError(f"client {self.name!r} may not state the purpose {stated!r}")
        return stated


@dataclass(frozen=True)
class ClientInfo:
    """A client as the operator sees it (no secret)."""

    client: Client
    created_at: datetime
    revoked_at: datetime | None
    #: Public ids of the keys that work now, newest first.
    active_keys: tuple[str, ...]


@dataclass(frozen=True)
class IssuedKey:
    """A new key: ``secret`` is the whole key, shown once and never stored."""

    key_id: str
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_key(session: Session, client: ApiClient, now: datetime) -> IssuedKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    session.add(ApiKey(key_id=key_id, client=client, secret_sha256=_digest(secret), created_at=now))
    return IssuedKey(key_id, f"{_KEY_PREFIX}{key_id}.{secret}")


def client_of(row: ApiClient) -> Client:
    """The client a row describes, as the routes see it."""
    department = row.department
    return Client(
        id=row.id,
        name=row.name,
        role=row.role,
        department_code=department.code if department else None,
        department_name=department.name if department else None,
        purposes=tuple(json.loads(row.purposes_json)),
        rate_limit_per_minute=row.rate_limit_per_minute,
    )


def clean_purposes(purposes: Sequence[str]) -> list[str]:
    """The purposes stripped, deduplicated and bounded in length and number."""
    cleaned = []
    for purpose in purposes:
        text = purpose.strip()
        if not text or len(text) > 200:
            raise InvalidInputError("a purpose is 1 to 200 characters")
        if text not in cleaned:
            cleaned.append(text)
    if len(cleaned) > MAX_PURPOSES:
        raise InvalidInputError(f"a client may have at most {MAX_PURPOSES} purposes")
    return cleaned


def add_client(
    services: Services,
    name: str,
    role: ClientRole | str,
    *,
    department_code: str | None = None,
    purposes: Sequence[str] = (),
    rate_limit_per_minute: int | None = None,
    operator: Operator | None = None,
) -> tuple[ClientInfo, IssuedKey]:
    """Make a client and its first key; the rules of each role are checked here.

    The operator record gets a row in the same transaction (``operator``: who
    asked; this machine's user when None).
    """
    try:
        role = ClientRole(role)
    except ValueError:
        raise InvalidInputError(
            f"unknown role {role!r}; roles are {', '.join(r.value for r in ClientRole)}"
        ) from None
    name = clean_name(name, "a client name", 200)
    cleaned = clean_purposes(purposes)
    if role is ClientRole.ISSUER and department_code is None:
        raise InvalidInputError("an issuer client acts for one department: name it")
    if role is ClientRole.VERIFIER and not cleaned:
        raise InvalidInputError("a verifier client needs at least one purpose it may state")
    if role is not ClientRole.VERIFIER and cleaned:
        raise InvalidInputError("only verifier clients state purposes")
    if role is ClientRole.ADMIN and department_code is not None:
        raise InvalidInputError("an admin client is not bound to a department")
    if rate_limit_per_minute is not None and not 1 <= rate_limit_per_minute <= MAX_RATE_LIMIT:
        raise InvalidInputError("a rate limit is between 1 and 1,000,000 requests a minute")
    now = services.clock.now()
    try:
        with services.database.begin() as session:
            # Every purpose must be an entry of the catalogue (see ``access.purposes``).
            require_known(session, cleaned)
            department = None
            if department_code is not None:
                department = session.scalar(
                    select(Department).where(Department.code == department_code.strip().upper())
                )
                if department is None:
                    raise NotFoundError(f"no department with credit code {department_code}")
            row = ApiClient(
                name=name,
                role=role,
                department=department,
                purposes_json=json.dumps(cleaned, ensure_ascii=False),
                rate_limit_per_minute=rate_limit_per_minute,
                created_at=now,
            )
            session.add(row)
            key = _new_key(session, row, now)
            session.flush()
            info = ClientInfo(client_of(row), now, None, (key.key_id,))
            record_operation(
                session,
                operator or Operator.local(),
                OperatorAction.CLIENT_ADD,
                name,
                now,
                {
                    "role": role.value,
                    "department": info.client.department_code,
                    "purposes": cleaned,
                    "rate_limit_per_minute": rate_limit_per_minute,
                    "key_id": key.key_id,
                },
            )
    except IntegrityError as exc:
        raise ConflictError(f"a client named {name!r} already exists") from exc
    return info, key


def _find(session: Session, name: str) -> ApiClient:
    row = session.scalar(select(ApiClient).where(ApiClient.name == name.strip()))
    if row is None:
        raise NotFoundError(f"no API client named {name!r}")
    return row


def _info(session: Session, row: ApiClient, now: datetime) -> ClientInfo:
    keys = session.scalars(
        select(ApiKey).where(ApiKey.client_id == row.id).order_by(ApiKey.id.desc())
    ).all()
    active = tuple(
        k.key_id
        for k in keys
        if row.revoked_at is None and (k.expires_at is None or k.expires_at > now)
    )
    return ClientInfo(client_of(row), row.created_at, row.revoked_at, active)


def list_clients(services: Services) -> list[ClientInfo]:
    now = services.clock.now()
    with services.database.begin() as session:
        rows = session.scalars(select(ApiClient).order_by(ApiClient.id)).all()
        return [_info(session, row, now) for row in rows]


def get_client(services: Services, name: str) -> ClientInfo:
    with services.database.begin() as session:
        return _info(session, _find(session, name), services.clock.now())


def revoke_client(services: Services, name: str, operator: Operator | None = None) -> ClientInfo:
    """Stop a client for good: every key of it is refused from now on."""
    now = services.clock.now()
    with services.database.begin() as session:
        row = _find(session, name)
        if row.revoked_at is None:
            row.revoked_at = now
            record_operation(
                session,
                operator or Operator.local(),
                OperatorAction.CLIENT_REVOKE,
                row.name,
                now,
                {"role": row.role.value},
            )
        return _info(session, row, now)


def rotate_key(
    services: Services,
    name: str,
    grace: timedelta = timedelta(0),
    operator: Operator | None = None,
) -> IssuedKey:
    """A new key for the client; its older keys stop working after ``grace``."""
    if not timedelta(0) <= grace <= timedelta(days=30):
        raise InvalidInputError("the grace period of old keys is 0 to 30 days")
    now = services.clock.now()
    with services.database.begin() as session:
        row = _find(session, name)
        if row.revoked_at is not None:
            raise ConflictError(f"client {row.name!r} is revoked; make a new client instead")
        cutoff = now + grace
        for old in session.scalars(select(ApiKey).where(ApiKey.client_id == row.id)):
            if old.expires_at is None or old.expires_at > cutoff:
                old.expires_at = cutoff
        key = _new_key(session, row, now)
        record_operation(
            session,
            operator or Operator.local(),
            OperatorAction.CLIENT_ROTATE,
            row.name,
            now,
            {"key_id": key.key_id, "old_keys_expire_at": cutoff.isoformat()},
        )
        return key


#: More verifiers than this are not offered to a holder as a list to choose from.
MAX_VERIFIERS_OFFERED = 200


def active_verifier(session: Session, name: str) -> Client | None:
    """The verifier client of this name, unless there is none or it is revoked."""
    row = session.scalar(
        select(ApiClient).where(
            ApiClient.name == name.strip(),
            ApiClient.role == ClientRole.VERIFIER,
            ApiClient.revoked_at.is_(None),
        )
    )
    return client_of(row) if row is not None else None


def active_verifiers(services: Services) -> list[Client]:
    """The verifier clients that work now, by name: whom a holder may name on a code."""
    with services.database.begin() as session:
        rows = session.scalars(
            select(ApiClient)
            .where(ApiClient.role == ClientRole.VERIFIER, ApiClient.revoked_at.is_(None))
            .order_by(ApiClient.name)
            .limit(MAX_VERIFIERS_OFFERED)
        ).all()
        return [client_of(row) for row in rows]


@dataclass(frozen=True)
class _Cached:
    client: Client
    secret_sha256: str
    expires_at: datetime | None
    fetched: float


class Authenticator:
    """Checks presented keys; remembers good ones for ``KEY_CACHE_SECONDS``."""

    def __init__(self, services: Services, cache_seconds: float = KEY_CACHE_SECONDS) -> None:
        self.services = services
        self.cache_seconds = cache_seconds
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def authenticate(self, presented: str) -> Client:
        match = _KEY_PATTERN.fullmatch(presented.strip())
        if match is None:
            raise AuthenticationError("the API key is malformed")
        key_id, secret = match.groups()
        entry = self._cached(key_id)
        if entry is None:
            entry = self._load(key_id)
        if not hmac.compare_digest(entry.secret_sha256, _digest(secret)):
            raise AuthenticationError("the API key is not valid")
        if entry.expires_at is not None and entry.expires_at <= self.services.clock.now():
            raise AuthenticationError("the API key has expired")
        return entry.client

    def _cached(self, key_id: str) -> _Cached | None:
        with self._lock:
            entry = self._cache.get(key_id)
        if entry is None or time.monotonic() - entry.fetched > self.cache_seconds:
            return None
        return entry

    def _load(self, key_id: str) -> _Cached:
        with self.services.database.begin() as session:
            key = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
            if key is None or key.client.revoked_at is not None:
                raise AuthenticationError("the API key is not valid")
            entry = _Cached(
                client_of(key.client), key.secret_sha256, key.expires_at, time.monotonic()
            )
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = entry
        return entry


__all__ = [
    "MAX_VERIFIERS_OFFERED",
    "Authenticator",
    "Client",
    "ClientInfo",
    "IssuedKey",
    "active_verifier",
    "active_verifiers",
    "add_client",
    "get_client",
    "list_clients",
    "revoke_client",
    "rotate_key",
]
